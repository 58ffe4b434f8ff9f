using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoraGrains.Testing;

/// <summary>
/// A private CA and a server certificate it signed for 127.0.0.1 and localhost, written as PEM files (the layout of
/// a Kubernetes TLS secret) to a directory deleted on dispose; plus HTTP handlers that trust the CA.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly X509Certificate2 _authority;

    private TestCertificates(string directory, X509Certificate2 authority)
    {
        Directory = directory;
        _authority = authority;
    }

    /// <summary>The directory holding the files.</summary>
    public string Directory { get; }

    /// <summary>The CA's certificate (PEM).</summary>
    public string AuthorityPath => Path.Combine(Directory, "ca.crt");

    /// <summary>The server certificate (PEM).</summary>
    public string CertificatePath => Path.Combine(Directory, "tls.crt");

    /// <summary>The server certificate's private key (PEM).</summary>
    public string KeyPath => Path.Combine(Directory, "tls.key");

    /// <summary>The silo options that serve https with the server certificate.</summary>
    public string[] ServerArguments => ["--tls-cert", CertificatePath, "--tls-key", KeyPath];

    /// <summary>The silo option that trusts the CA for peers' https.</summary>
    public string[] PeerTrustArguments => ["--peer-ca", AuthorityPath];

    /// <summary>Makes the CA and the server certificate.</summary>
    public static TestCertificates Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"lg-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow;
        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=LoraGrains test CA", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        authorityRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, false));
        var authority = authorityRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(authority, now.AddDays(-1), now.AddDays(30), [1, 2, 3, 4, 5, 6, 7, 8]);

        var certificates = new TestCertificates(directory, authority);
        File.WriteAllText(certificates.AuthorityPath, authority.ExportCertificatePem());
        File.WriteAllText(certificates.CertificatePath, server.ExportCertificatePem());
        File.WriteAllText(certificates.KeyPath, serverKey.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    /// <summary>A handler whose TLS connections trust only the test CA.</summary>
    public SocketsHttpHandler TrustingHandler()
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(_authority);
        return new SocketsHttpHandler { SslOptions = new() { CertificateChainPolicy = policy } };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _authority.Dispose();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
