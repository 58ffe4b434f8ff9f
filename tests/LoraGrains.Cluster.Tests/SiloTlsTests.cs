using LoraGrains.Cluster.Runtime;
using LoraGrains.Testing;

namespace LoraGrains.Cluster.Tests;

/// <summary>The silo's TLS files: what loads, and what is refused with the file named.</summary>
public sealed class SiloTlsTests : IDisposable
{
    private readonly TestCertificates _files = TestCertificates.Create();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_pem_certificate_with_its_key_and_a_ca_file_load()
    {
        using var tls = SiloTls.Load(new SiloOptions
        {
            CertificatePath = _files.CertificatePath,
            CertificateKeyPath = _files.KeyPath,
            PeerCertificateAuthorityPath = _files.AuthorityPath,
        });
        Assert.True(tls.Certificate?.HasPrivateKey);
        Assert.Equal("CN=127.0.0.1", tls.Certificate?.Subject);
        var policy = tls.PeerChainPolicy();
        Assert.Equal(System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust, policy?.TrustMode);
        Assert.Equal("CN=LoraGrains test CA", Assert.Single(policy!.CustomTrustStore).Subject);

        using var plain = SiloTls.Load(new SiloOptions());
        Assert.Null(plain.Certificate);
        Assert.Null(plain.PeerChainPolicy());
    }

    [Fact]
    public void Unusable_files_are_refused_naming_the_file_and_the_problem()
    {
        var missing = Path.Combine(_files.Directory, "missing.crt");
        var garbage = Path.Combine(_files.Directory, "garbage.crt");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");

        Assert.Contains($"TLS certificate '{missing}' does not exist",
            Refused(new SiloOptions { CertificatePath = missing, CertificateKeyPath = _files.KeyPath }), StringComparison.Ordinal);
        Assert.Contains("needs both its certificate file and its private key file",
            Refused(new SiloOptions { CertificatePath = _files.CertificatePath }), StringComparison.Ordinal);
        Assert.Contains($"TLS certificate '{garbage}' is not a usable PEM file",
            Refused(new SiloOptions { CertificatePath = garbage, CertificateKeyPath = _files.KeyPath }), StringComparison.Ordinal);
        // The CA's certificate with the server's key: the key does not match.
        Assert.Contains($"TLS certificate '{_files.AuthorityPath}' is not a usable PEM file",
            Refused(new SiloOptions { CertificatePath = _files.AuthorityPath, CertificateKeyPath = _files.KeyPath }), StringComparison.Ordinal);
        Assert.Contains($"peer certificate authority '{_files.KeyPath}' holds no PEM certificate",
            Refused(new SiloOptions { PeerCertificateAuthorityPath = _files.KeyPath }), StringComparison.Ordinal);
        Assert.Contains($"peer certificate authority '{missing}' does not exist",
            Refused(new SiloOptions { PeerCertificateAuthorityPath = missing }), StringComparison.Ordinal);
    }

    private static string Refused(SiloOptions options) => Assert.ThrowsAny<ArgumentException>(() => SiloTls.Load(options)).Message;
}
