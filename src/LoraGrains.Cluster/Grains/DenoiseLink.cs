using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using LoraGrains.Cluster.Http;
using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// A coordinator's connection to one peer's <see cref="DenoiserGrain"/> for the length of a job: an HTTP/1.1 request
/// to the peer's silo-to-silo endpoint (same server, cluster secret) upgraded to <see cref="Protocol"/>, over which
/// each pass and its answer go as one length-prefixed message (<see cref="DenoiseRequest"/>,
/// <see cref="DenoiseAnswer"/>). A step's passes then cost no HTTP parsing, routing or headers on either side, and
/// the calling thread, blocked on its socket, is woken straight by the answer (docs/benchmarks.md, session 7).
/// One thread uses a link at a time (its peer's <see cref="Runtime.PassThread"/>).
/// </summary>
internal sealed class DenoiseLink : IDisposable
{
    /// <summary>The protocol named in the <c>Upgrade</c> header.</summary>
    public const string Protocol = "loragrains-denoise/1";

    /// <summary>The peer's endpoint that upgrades to a link.</summary>
    public const string Path = "internal/v1/denoise/link";

    /// <summary>Bytes of the length that prefixes every message.</summary>
    public const int LengthBytes = sizeof(int);

    private const int MaxResponseHeadBytes = 16 << 10;
    private readonly Stream _stream;
    private readonly Socket? _socket;

    private DenoiseLink(Stream stream, Socket? socket) => (_stream, _socket) = (stream, socket);

    /// <summary>Connects to the silo at <paramref name="peerAddress"/> and upgrades to a link; blocks the calling thread.</summary>
    /// <param name="peerAddress">The peer's address from the membership table (<c>http(s)://host:port</c>).</param>
    /// <param name="clusterSecret">The cluster secret the peer checks.</param>
    /// <param name="timeout">For the connection, each write and each answer.</param>
    /// <param name="tls">For an https peer: the authorities its certificate must chain to (the system's trust store when <see langword="null"/>).</param>
    /// <exception cref="IOException">The peer refused the upgrade (its status and reason in the message) or the connection failed.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">An https peer's certificate is not trusted.</exception>
    /// <exception cref="SocketException">The peer could not be reached.</exception>
    public static DenoiseLink Open(string peerAddress, string clusterSecret, TimeSpan timeout, Runtime.SiloTls? tls = null)
    {
        var uri = new Uri(new Uri(peerAddress), Path);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            using (var connecting = new CancellationTokenSource(timeout))
            {
                ThreadWait.Wait(socket.ConnectAsync(uri.IdnHost, uri.Port, connecting.Token).AsTask());
            }

            socket.SendTimeout = socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            stream = new NetworkStream(socket, ownsSocket: true);
            var https = uri.Scheme == Uri.UriSchemeHttps;
            if (https)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                ssl.AuthenticateAsClient(new SslClientAuthenticationOptions
                {
                    TargetHost = uri.IdnHost,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                    CertificateChainPolicy = tls?.PeerChainPolicy(),
                });
            }

            stream.Write(Encoding.ASCII.GetBytes(
                $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: Upgrade\r\nUpgrade: {Protocol}\r\n" +
                $"{ClusterSecretAuthentication.Header}: {clusterSecret}\r\n\r\n"));
            stream.Flush();
            var (status, reason) = ReadResponseHead(stream);
            if (status != 101)
            {
                throw new IOException($"{uri.Authority} refused the denoise link: {status} {reason}");
            }

            // Plain TCP sends a pass's head and tensors in one system call (see Run).
            return new DenoiseLink(stream, https ? null : socket);
        }
        catch
        {
            if (stream is null) socket.Dispose();
            else stream.Dispose();
            throw;
        }
    }

    /// <summary>Sends a pass of <paramref name="adapterHash"/> and waits for its answer; blocks the calling thread.</summary>
    /// <param name="adapterHash">The adapter's content hash.</param>
    /// <param name="scale">Its effective scale.</param>
    /// <param name="frames">Latents, timestep and text states as <see cref="TensorFrames"/> (shared by a step's passes, not copied).</param>
    /// <exception cref="IOException">The link broke, timed out or the answer is malformed.</exception>
    public DenoiseAnswer Run(string adapterHash, double scale, byte[] frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var head = new byte[LengthBytes + DenoiseRequest.HeadBytes];
        BinaryPrimitives.WriteInt32LittleEndian(head, DenoiseRequest.HeadBytes + frames.Length);
        DenoiseRequest.WriteHead(head.AsSpan(LengthBytes), adapterHash, scale);
        if (_socket is not null)
        {
            // One segment: the peer's server is woken once per pass, not once for the head and again for the tensors.
            var total = head.Length + frames.Length;
            var sent = _socket.Send([new ArraySegment<byte>(head), new ArraySegment<byte>(frames)]);
            if (sent != total) throw new IOException($"the link sent {sent} of {total} bytes of a pass");
        }
        else
        {
            _stream.Write(head);
            _stream.Write(frames);
            _stream.Flush();
        }

        var message = ReadMessage(_stream, SiloEndpoints.MaxDenoiseMessageBytes) ?? throw new IOException("the peer closed the denoise link");
        try
        {
            return DenoiseAnswer.Parse(message);
        }
        catch (FormatException e)
        {
            throw new IOException($"malformed answer on the denoise link: {e.Message}", e);
        }
    }

    /// <summary>Reads one length-prefixed message; <see langword="null"/> when the stream ends before one starts.</summary>
    /// <exception cref="IOException">The stream ends inside the message, or its length is above <paramref name="limit"/>.</exception>
    public static byte[]? ReadMessage(Stream stream, int limit)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> prefix = stackalloc byte[LengthBytes];
        if (stream.ReadAtLeast(prefix, LengthBytes, throwOnEndOfStream: false) < LengthBytes)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length < 0 || length > limit) throw new IOException($"a message on the denoise link announces {length} bytes; at most {limit} may follow");
        var message = new byte[length];
        stream.ReadExactly(message);
        return message;
    }

    // The status code and, for a refusal, the body the peer sent with it (its error text).
    private static (int Status, string Reason) ReadResponseHead(Stream stream)
    {
        var buffer = new byte[MaxResponseHeadBytes];
        var filled = 0;
        int end;
        while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == buffer.Length) throw new IOException($"the peer's answer to the upgrade has no end of headers within {buffer.Length} bytes");
            var read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0) throw new IOException("the peer closed the connection before answering the upgrade");
            filled += read;
        }

        var head = Encoding.ASCII.GetString(buffer, 0, end);
        var lines = head.Split("\r\n");
        var statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(statusLine[1], out var status))
        {
            throw new IOException($"the peer's answer to the upgrade is not HTTP: '{lines[0]}'");
        }

        var bodyStart = end + 4;
        if (status == 101)
        {
            // The peer sends nothing on a link until asked.
            if (filled != bodyStart) throw new IOException("the peer sent data before the first pass");
            return (status, "");
        }

        string? Header(string name) => lines.Skip(1)
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2 && p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(p => p[1].Trim())
            .FirstOrDefault();

        // The refusal's body is the error's text: sized by Content-Length, or chunked (read up to its last chunk).
        var chunked = Header("Transfer-Encoding") is { } encoding && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        var length = int.TryParse(Header("Content-Length"), out var n) ? Math.Clamp(n, 0, buffer.Length - bodyStart) : 0;
        while (filled < buffer.Length && (chunked ? buffer.AsSpan(bodyStart, filled - bodyStart).IndexOf("0\r\n\r\n"u8) < 0 : filled < bodyStart + length))
        {
            var read = stream.Read(buffer, filled, chunked ? buffer.Length - filled : bodyStart + length - filled);
            if (read == 0) break;
            filled += read;
        }

        var body = chunked ? Dechunk(buffer.AsSpan(bodyStart, filled - bodyStart)) : Encoding.UTF8.GetString(buffer, bodyStart, Math.Min(filled - bodyStart, length));
        return (status, body.Length > 0 ? body : statusLine.Length > 2 ? statusLine[2] : "");
    }

    private static string Dechunk(ReadOnlySpan<byte> chunks)
    {
        var text = new StringBuilder();
        while (chunks.IndexOf("\r\n"u8) is var end and > 0
            && int.TryParse(Encoding.ASCII.GetString(chunks[..end]).Split(';')[0], System.Globalization.NumberStyles.HexNumber, null, out var size)
            && size > 0 && chunks.Length >= end + 2 + size)
        {
            text.Append(Encoding.UTF8.GetString(chunks.Slice(end + 2, size)));
            chunks = chunks[Math.Min(chunks.Length, end + 2 + size + 2)..];
        }

        return text.ToString();
    }

    /// <summary>Closes the link; the peer's side ends with it.</summary>
    public void Dispose() => _stream.Dispose();
}
