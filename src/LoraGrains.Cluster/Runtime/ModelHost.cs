using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The base model, loaded once per silo. The model's adapter set and layers are mutable, so runs take
/// <see cref="AcquireAsync"/> for exclusive use; the silo runs one generation at a time per model.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// The embedded default model (a tiny, randomly initialised SD 1.x shipped beside the binaries), used when no model
    /// path is configured; its tokenizer also serves single-file checkpoints, which carry none.
    /// </summary>
    public static string EmbeddedModelPath => Path.Combine(AppContext.BaseDirectory, "models", "sd-tiny");

    /// <summary>Loads the configured model.</summary>
    public ModelHost(IOptions<SiloOptions> options, ILogger<ModelHost> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (o.Threads is { } threads)
        {
            Torch.Torch.NumThreads = threads;
        }

        var embedded = EmbeddedModelPath;
        var path = o.ModelPath ?? embedded;
        var single = File.Exists(path);
        Model = StableDiffusionModel.Load(path, new ModelLoadOptions
        {
            Device = Device.Parse(o.Device),
            TokenizerPath = o.TokenizerPath ?? (single ? Path.Combine(embedded, "tokenizer") : null),
            YamlPath = o.ModelYamlPath,
        });
        NativeSize = (Model.UNet.Config.SampleSize ?? 64) * Model.Vae.Config.DownsampleFactor;
        logger.LogInformation("Model {Model} loaded on {Device} ({DType}); native size {Size}px", Model.Name, Model.Device, Model.DType, NativeSize);
    }

    /// <summary>The model.</summary>
    public StableDiffusionModel Model { get; }

    /// <summary>The model's native image side in pixels.</summary>
    public int NativeSize { get; }

    /// <summary>Exclusive use of the model until the returned object is disposed.</summary>
    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Lease(_gate);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Adapters.Dispose();
        Model.Dispose();
        _gate.Dispose();
    }

    private sealed class Lease(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
