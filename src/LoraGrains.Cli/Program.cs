using LoraGrains.Cli;
using LoraGrains.Cli.Commands;
using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

const string Usage = """
    usage: lora-grains <command> [options]

    commands:
      generate   text-to-image on this machine (an embedded silo), optionally composing LoRA adapters
      info       libtorch version, threads and devices
      serve      run a silo of a cluster (PostgreSQL) or a single node (SQLite)
      tenant     create tenants and API keys
      submit     generate on a cluster through its HTTP API

    run 'lora-grains <command> --help' for its options.
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    return args[0] switch
    {
        "generate" => await GenerateCommand.RunAsync(args[1..], cancel.Token),
        "info" => InfoCommand.Run(),
        "serve" => await ServeCommand.RunAsync(args[1..], cancel.Token),
        "tenant" => await TenantCommand.RunAsync(args[1..], cancel.Token),
        "submit" => await SubmitCommand.RunAsync(args[1..], cancel.Token),
        _ => throw new UsageException($"unknown command '{args[0]}'\n\n{Usage}"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (LoraGrains.Client.LoraGrainsException e)
{
    Console.Error.WriteLine($"\nerror: {e.Message}");
    return 1;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"\nerror: cannot reach the cluster: {e.Message}");
    return 1;
}
catch (GenerationFailedException e)
{
    Console.Error.WriteLine($"\nerror: {e.Message}; nothing was written");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("\ncancelled; nothing was written");
    return 130;
}
catch (Exception e) when (e is ModelLoadException or LoraFormatException or SafetensorsException or TorchException
                          or ArgumentException or FormatException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
