using System.Text.Json;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;

namespace LoraGrains.Cluster.Grains;

/// <summary>Saves each checkpoint the pipeline hands out into the job's row, under the job's lease, before the run goes on.</summary>
internal sealed class CheckpointRecorder(ClusterStore store, Guid jobId, string owner, CheckpointRequest? request, CancellationToken cancellationToken) : IDenoiseObserver
{
    public int Saved { get; private set; }

    public bool CheckpointRequested => request?.IsRequested == true;

    public static byte[] Serialize(GenerationCheckpoint checkpoint) => JsonSerializer.SerializeToUtf8Bytes(checkpoint);

    public static GenerationCheckpoint Deserialize(byte[] data) =>
        JsonSerializer.Deserialize<GenerationCheckpoint>(data) ?? throw new InvalidDataException("empty checkpoint");

    public void OnInitialLatents(Tensor latents)
    {
    }

    public void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters)
    {
    }

    public void OnCheckpoint(GenerationCheckpoint checkpoint)
    {
        // The pipeline runs on its own thread: waiting here keeps checkpoints in order and makes the run wait for the write.
        ThreadWait.Wait(store.Jobs.SaveCheckpointAsync(jobId, owner, checkpoint.CompletedSteps, Serialize(checkpoint), cancellationToken));
        Saved++;
        request?.Saved();
    }
}
