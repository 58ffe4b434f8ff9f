using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LoraGrains.Bench;

/// <summary>
/// How long this machine takes to run a thread that another thread woke and then kept its CPU busy: the cost of a
/// hand-over between threads (an HTTP request, a PostgreSQL round trip and a NOTIFY each make several) when the waker
/// goes on working. A scheduler that places the woken thread on an idle CPU runs it in microseconds; one that queues it
/// on the waker's CPU (this VM's guest kernel does, once the other CPU has idled a few ms) makes it wait for the waker
/// to block or for its time slice to end.
/// </summary>
internal static partial class WakeProbe
{
    /// <summary>
    /// Median and maximum wake-up latency (ms) of a blocked thread after <paramref name="idle"/> of quiet, and the share
    /// of wake-ups that ran on the waker's CPU.
    /// </summary>
    public static (double P50, double Max, double OnWakersCpu) Measure(TimeSpan idle, int samples = 30)
    {
        using var signal = new SemaphoreSlim(0);
        long woke = 0;
        var wokeOn = -1;
        var sleeper = new Thread(() =>
        {
            while (true)
            {
                signal.Wait();
                if (Volatile.Read(ref woke) < 0) return;
                Volatile.Write(ref wokeOn, sched_getcpu());
                Volatile.Write(ref woke, Stopwatch.GetTimestamp());
            }
        }) { IsBackground = true, Name = "wake-probe" };
        sleeper.Start();
        var times = new List<double>();
        var sameCpu = 0;
        for (var i = 0; i < samples; i++)
        {
            Thread.Sleep(idle);
            var sent = Stopwatch.GetTimestamp();
            var wakerCpu = sched_getcpu();
            signal.Release();
            // The waker stays busy (spins) until the sleeper has run.
            while (Volatile.Read(ref woke) < sent) Thread.SpinWait(20);
            times.Add(Stopwatch.GetElapsedTime(sent, Volatile.Read(ref woke)).TotalMilliseconds);
            sameCpu += Volatile.Read(ref wokeOn) == wakerCpu ? 1 : 0;
        }

        Volatile.Write(ref woke, -1);
        signal.Release();
        sleeper.Join();
        return (BenchSupport.Percentile(times, 50), times.Max(), (double)sameCpu / samples);
    }

    [LibraryImport("libc")]
    private static partial int sched_getcpu();
}
