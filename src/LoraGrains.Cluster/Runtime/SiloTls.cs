using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The silo's TLS material, loaded once at start-up: the certificate its https URLs present (PEM certificate chain
/// and private key, the form of a Kubernetes TLS secret) and the certificate authorities it trusts for silo-to-silo
/// https (a cluster's private CA), without which peers are checked against the system's trust store.
/// </summary>
public sealed class SiloTls : IDisposable
{
    private readonly X509Certificate2Collection _peerAuthorities;

    private SiloTls(X509Certificate2? certificate, X509Certificate2Collection peerAuthorities)
    {
        Certificate = certificate;
        _peerAuthorities = peerAuthorities;
    }

    /// <summary>The certificate https URLs present, or <see langword="null"/> to use Kestrel's configured default.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>Loads the files named by <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A file is missing, unreadable or not what it should be (the message names it).</exception>
    public static SiloTls Load(SiloOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if ((options.CertificatePath is null) != (options.CertificateKeyPath is null))
        {
            throw new ArgumentException("a TLS certificate needs both its certificate file and its private key file (--tls-cert and --tls-key)", nameof(options));
        }

        X509Certificate2? certificate = null;
        var authorities = new X509Certificate2Collection();
        try
        {
            if (options.CertificatePath is { } certPath)
            {
                certificate = Read(certPath, "TLS certificate", () => X509Certificate2.CreateFromPemFile(certPath, options.CertificateKeyPath));
                if (!certificate.HasPrivateKey)
                {
                    throw new ArgumentException($"TLS certificate '{certPath}': the key file '{options.CertificateKeyPath}' holds no private key for it", nameof(options));
                }
            }

            if (options.PeerCertificateAuthorityPath is { } caPath)
            {
                Read(caPath, "peer certificate authority", () => { authorities.ImportFromPemFile(caPath); return authorities; });
                if (authorities.Count == 0)
                {
                    throw new ArgumentException($"peer certificate authority '{caPath}' holds no PEM certificate", nameof(options));
                }
            }

            return new SiloTls(certificate, authorities);
        }
        catch
        {
            certificate?.Dispose();
            foreach (var authority in authorities)
            {
                authority.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// How a peer's certificate is checked: a chain that must end at one of the configured peer authorities (a new
    /// policy per call, as connections may adjust theirs), or <see langword="null"/> for the system's trust store.
    /// </summary>
    public X509ChainPolicy? PeerChainPolicy()
    {
        if (_peerAuthorities.Count == 0)
        {
            return null;
        }

        // A private CA publishes no revocation list to check against.
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(_peerAuthorities);
        return policy;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate?.Dispose();
        foreach (var authority in _peerAuthorities)
        {
            authority.Dispose();
        }
    }

    private static T Read<T>(string path, string what, Func<T> read)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{what} '{path}' does not exist");
        }

        try
        {
            return read();
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // ArgumentException: a key that does not match the certificate.
            throw new ArgumentException($"{what} '{path}' is not a usable PEM file: {e.Message}", e);
        }
    }
}
