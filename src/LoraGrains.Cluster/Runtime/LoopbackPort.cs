using System.Net;
using System.Net.Sockets;

namespace LoraGrains.Cluster.Runtime;

/// <summary>Free TCP ports on 127.0.0.1, for silos (and servers) started on loopback.</summary>
public static class LoopbackPort
{
    /// <summary>
    /// A port that was free a moment ago: the OS picks it for a listener that is closed at once. Another process can
    /// still take it before the caller binds it.
    /// </summary>
    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
