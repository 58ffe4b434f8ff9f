using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LoraGrains.Cluster.Runtime;

/// <summary>Binds one configured URL on Kestrel with the protocols it can carry.</summary>
public static class KestrelEndpoint
{
    /// <summary>
    /// Listens on <paramref name="url"/>: https gets HTTP/1.1 and HTTP/2 (negotiated by ALPN), http gets HTTP/1.1
    /// (which is also what silos speak to each other: docs/benchmarks.md, session 6).
    /// </summary>
    /// <param name="kestrel">The server's options.</param>
    /// <param name="url">The URL to bind.</param>
    /// <param name="certificate">What an https URL presents, or <see langword="null"/> for Kestrel's configured default.</param>
    /// <exception cref="ArgumentException">The URL is not an http(s) address with a port.</exception>
    public static void Listen(KestrelServerOptions kestrel, string url, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"'{url}' is not a URL such as http://127.0.0.1:5080", nameof(url), e);
        }

        var https = address.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase);
        if (!https && !address.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{url}': only http and https URLs are supported", nameof(url));
        }

        void Configure(ListenOptions listen)
        {
            listen.Protocols = https ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
            if (https && certificate is not null)
            {
                listen.UseHttps(certificate);
            }
            else if (https)
            {
                listen.UseHttps();
            }
        }

        if (address.Host is "localhost")
        {
            kestrel.ListenLocalhost(address.Port, Configure);
        }
        else if (address.Host is "*" or "+" or "0.0.0.0" or "[::]")
        {
            kestrel.ListenAnyIP(address.Port, Configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, Configure);
        }
        else
        {
            throw new ArgumentException($"'{url}': the host must be an IP address, localhost or *", nameof(url));
        }
    }
}
