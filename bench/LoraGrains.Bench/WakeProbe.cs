using System.Diagnostics;

namespace LoraGrains.Bench;

/// <summary>
/// How long this machine takes to run a thread that was blocked, once the CPU it slept on has been idle for a while:
/// the floor under every hand-over between threads and processes in the cluster benchmarks (an HTTP request, a
/// PostgreSQL round trip and a NOTIFY each cost several). On bare metal this is tens of microseconds; a virtual CPU
/// that the hypervisor has parked can take milliseconds to come back.
/// </summary>
internal static class WakeProbe
{
    /// <summary>Median and maximum wake-up latency (ms) of a blocked thread after <paramref name="idle"/> of quiet.</summary>
    public static (double P50, double Max) Measure(TimeSpan idle, int samples = 30)
    {
        using var signal = new SemaphoreSlim(0);
        long woke = 0;
        var sleeper = new Thread(() =>
        {
            while (true)
            {
                signal.Wait();
                if (Volatile.Read(ref woke) < 0) return;
                Volatile.Write(ref woke, Stopwatch.GetTimestamp());
            }
        }) { IsBackground = true, Name = "wake-probe" };
        sleeper.Start();
        var times = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            Thread.Sleep(idle);
            var sent = Stopwatch.GetTimestamp();
            signal.Release();
            // Spin here, so that this thread's CPU stays busy and the sleeper is woken on the other one.
            while (Volatile.Read(ref woke) < sent) Thread.SpinWait(20);
            times.Add(Stopwatch.GetElapsedTime(sent, Volatile.Read(ref woke)).TotalMilliseconds);
        }

        Volatile.Write(ref woke, -1);
        signal.Release();
        sleeper.Join();
        return (BenchSupport.Percentile(times, 50), times.Max());
    }
}
