using System.Diagnostics;
using LoraGrains.Cluster.Runtime;

namespace LoraGrains.Cli.Tests;

/// <summary>Runs the built <c>lora-grains</c> as a child process.</summary>
internal static class CliProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunWith(null, args);

    /// <summary>Runs with extra environment variables (e.g. XDG_DATA_HOME, so that tests never write to the user's data directory).</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunWith(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lora-grains.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("lora-grains did not finish in 5 minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string FixtureLora(string name) => Path.Combine(ModelHost.EmbeddedModelPath, "loras", name + ".safetensors");
}
