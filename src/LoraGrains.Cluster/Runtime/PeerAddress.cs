namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// A silo's address in the membership table (<c>http(s)://host:port</c>). Silos call each other with HTTP/1.1: on the
/// denoise call it measured ~1.2 ms less per step than cleartext HTTP/2, whose framing adds a hand-over between
/// threads on each side (docs/benchmarks.md, session 6), and a silo sends each peer one call at a time anyway.
/// </summary>
public static class PeerAddress
{
    /// <summary>A request to <paramref name="path"/> on the silo at <paramref name="address"/>.</summary>
    /// <exception cref="UriFormatException">The address is not an absolute URI.</exception>
    public static HttpRequestMessage Request(HttpMethod method, string address, string path)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new HttpRequestMessage(method, new Uri(new Uri(address), path));
    }
}
