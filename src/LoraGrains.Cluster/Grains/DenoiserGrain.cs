using LoraGrains.Cluster.Http;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// A stateless worker (one per silo, key = silo id) that evaluates UNet noise predictions for a peer's Composite:
/// the given latents, timestep and text states with exactly one adapter active. It waits only briefly for the
/// silo's model (a busy silo answers 503 and the peer computes the pass itself), so two silos fanning out to
/// each other cannot deadlock.
/// </summary>
public sealed class DenoiserGrain(ModelHost host, PassThread thread, AdapterResidency residency, SiloMetrics metrics) : Grain
{
    /// <summary>Bytes free before the noise's frames in <see cref="DenoiseAsync"/>'s array: the link message's prefix and answer head go there.</summary>
    public const int AnswerOffset = DenoiseLink.LengthBytes + DenoiseAnswer.HeadBytes;

    /// <summary>How long a pass waits for the model before declining.</summary>
    public static readonly TimeSpan ModelWait = TimeSpan.FromSeconds(2);

    /// <summary>Evaluates one pass: the noise prediction, framed (<see cref="TensorFrames"/>) from <see cref="AnswerOffset"/> on, as it goes on the wire.</summary>
    /// <exception cref="HttpApiException">503 when the model is busy; 400 when the tensors do not fit; 404 for an adapter not in the data directory.</exception>
    public async Task<byte[]> DenoiseAsync(DenoiseRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        StorageKeys.ContentHash(request.AdapterHash, "adapterHash");
        if (!double.IsFinite(request.Scale) || Math.Abs(request.Scale) > 100)
        {
            throw new HttpApiException(400, "scale must be finite and at most 100 in magnitude", "scale");
        }

        var (latents, states) = (request.Latents.Shape, request.TextStates.Shape);
        if (latents.Length == 0 || states.Length == 0 || latents[0] == 0 || states[0] % latents[0] != 0)
        {
            throw new HttpApiException(400, $"the batch of the text states ({(states.Length == 0 ? "none" : states[0])}) must be a whole multiple " +
                $"of the batch of the latents ({(latents.Length == 0 ? "none" : latents[0])}): one block of states per guidance branch", "tensors");
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(ModelWait);
        IDisposable lease;
        try
        {
            lease = await host.AcquireAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpApiException(503, "the silo's model is busy");
        }

        using (lease)
        {
            // Not on this pool thread: see PassThread.
            return await thread.RunAsync(() => Evaluate(request)).ConfigureAwait(false);
        }
    }

    private byte[] Evaluate(DenoiseRequest request)
    {
        try
        {
            residency.EnsureAttached([request.AdapterHash]);
        }
        catch (FileNotFoundException e)
        {
            // Adapters reach peers through the shared data directory; one that is not there is unknown to this silo.
            throw new HttpApiException(404, e.Message, "adapterHash");
        }

        var model = host.Model;
        using var scope = TensorScope.Enter();
        using var activation = AdapterActivation.Uniform([request.AdapterHash], [request.Scale]);
        model.Adapters.Activate(LoraComponent.Unet, activation);
        try
        {
            var latents = request.Latents.ToTensor(model.Device).To(model.DType);
            var timestep = request.Timestep.ToTensor(model.Device);
            var states = request.TextStates.ToTensor(model.Device).To(model.DType);
            // The latents once per guidance branch, stacked as the coordinator's own pass stacks them.
            var branches = (int)(states.Shape[0] / latents.Shape[0]);
            var sample = branches == 1 ? latents : Torch.Torch.Cat(Enumerable.Repeat(latents, branches).ToList());
            var noise = model.UNet.Forward(sample, timestep, states);
            metrics.RemotePasses.Add(1);
            return TensorFrames.Encode([noise], AnswerOffset);
        }
        catch (Exception e) when (e is TorchException or ArgumentException)
        {
            throw new HttpApiException(400, $"the tensors do not fit this model: {e.Message}");
        }
        finally
        {
            model.Adapters.Deactivate(LoraComponent.Unet);
        }
    }
}
