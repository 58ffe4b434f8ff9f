namespace LoraGrains.Bench;

/// <summary>
/// Entry point: the first argument names a benchmark group, the rest go to that group. A new group is one more
/// class implementing <see cref="IBenchmarkGroup"/> and one more line in <see cref="Groups"/>.
/// </summary>
internal static class Program
{
    private static readonly IBenchmarkGroup[] Groups =
    [
        new OpsBenchmark(),
        new EngineBenchmark(),
        new LoraBenchmark(),
        new ClusterBenchmark(),
    ];

    private static int Main(string[] args)
    {
        var group = args.Length > 0 ? Groups.FirstOrDefault(g => g.Name == args[0]) : null;
        if (group is null)
        {
            Console.Error.WriteLine("usage: dotnet run -c Release --project bench/LoraGrains.Bench -- GROUP [options]");
            foreach (var g in Groups) Console.Error.WriteLine($"  {g.Name,-8} {g.Description}");
            return 2;
        }

        try
        {
            return group.Run(args[1..]);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"{group.Name}: {e.Message}");
            return 2;
        }
    }
}

/// <summary>One named set of benchmarks, selected by the first command-line argument.</summary>
internal interface IBenchmarkGroup
{
    /// <summary>The command-line name.</summary>
    string Name { get; }

    /// <summary>One line for the usage text.</summary>
    string Description { get; }

    /// <summary>Runs the group with the remaining arguments; returns the process exit code.</summary>
    int Run(string[] args);
}
