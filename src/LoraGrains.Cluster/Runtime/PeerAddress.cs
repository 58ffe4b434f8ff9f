namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// A silo's address in the membership table: <c>http(s)://host:port</c>, or <c>h2c://host:port</c> for a peer endpoint
/// that speaks cleartext HTTP/2 with prior knowledge. Builds requests with the right HTTP version.
/// </summary>
public static class PeerAddress
{
    /// <summary>The scheme of cleartext HTTP/2 peer addresses.</summary>
    public const string H2cScheme = "h2c";

    /// <summary>A request to <paramref name="path"/> on the silo at <paramref name="address"/>.</summary>
    public static HttpRequestMessage Request(HttpMethod method, string address, string path)
    {
        ArgumentNullException.ThrowIfNull(address);
        var h2c = address.StartsWith(H2cScheme + "://", StringComparison.OrdinalIgnoreCase);
        var baseUri = new Uri(h2c ? "http://" + address[(H2cScheme.Length + 3)..] : address);
        var request = new HttpRequestMessage(method, new Uri(baseUri, path));
        if (h2c)
        {
            request.Version = System.Net.HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        return request;
    }
}
