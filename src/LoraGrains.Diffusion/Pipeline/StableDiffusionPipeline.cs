using System.Diagnostics;
using System.Globalization;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Imaging;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Diffusion.Text;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// Text-to-image with diffusers' semantics (initial latents drawn from a CPU generator exactly as diffusers
/// draws them, classifier-free guidance with the negative prompt first), composing the attached LoRA
/// adapters with Merge, Switch, Composite or Fusion.
/// </summary>
public sealed class StableDiffusionPipeline
{
    private readonly StableDiffusionModel model;
    private readonly IAdapterDenoiser? adapterDenoiser;

    /// <summary>Creates a pipeline over a loaded model.</summary>
    public StableDiffusionPipeline(StableDiffusionModel model)
        : this(model, null)
    {
    }

    /// <summary>
    /// Creates a pipeline whose Composite passes are offered to <paramref name="adapterDenoiser"/> first, one adapter
    /// at a time (Composite then runs sequentially; each pass it declines runs locally).
    /// </summary>
    public StableDiffusionPipeline(StableDiffusionModel model, IAdapterDenoiser? adapterDenoiser)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        this.adapterDenoiser = adapterDenoiser;
    }

    /// <summary>Runs <see cref="Generate"/> on a dedicated thread so callers stay asynchronous.</summary>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        IDenoiseObserver? observer = null, GenerationCheckpoint? resumeFrom = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Generate(request, progress, observer, resumeFrom, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Generates the images of <paramref name="request"/>; cancellation is honoured between steps. With
    /// <paramref name="resumeFrom"/> the run continues from a checkpoint of the same request.
    /// </summary>
    /// <exception cref="ArgumentException">A request field is out of range, or names an adapter that is not attached.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public GenerationResult Generate(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        IDenoiseObserver? observer = null, GenerationCheckpoint? resumeFrom = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        foreach (var a in request.Adapters.Where(a => !model.Adapters.Ids.Contains(a.Id)))
            throw new ArgumentException($"adapter '{a.Id}' is not loaded", nameof(request));
        var kind = SchedulerKinds.Parse(request.Scheduler);
        cancellationToken.ThrowIfCancellationRequested();

        using var scope = TensorScope.Enter();
        using var scheduler = kind.Create(model.SchedulerConfig);
        scheduler.SetTimesteps(request.Steps);
        var steps = scheduler.Timesteps.Count;

        var fusionWeights = request.Method == CompositionMethod.Fusion && request.Adapters.Count > 0
            ? ComputeFusionWeights(request)
            : null;
        var plan = new CompositionPlan(request.Method, request.Adapters, request.LoraScale, request.SwitchEvery, steps, fusionWeights);

        var (cond, condTruncated) = EncodePrompt(request.Prompt, request, plan);
        var (uncond, uncondTruncated) = EncodePrompt(request.NegativePrompt, request, plan);
        var guided = request.GuidanceScale > 1.0;
        var textStates = guided ? Torch.Torch.Cat([uncond, cond]) : cond;

        using var generator = new Generator(request.Seed);
        var h = request.Height / model.Vae.Config.DownsampleFactor;
        var w = request.Width / model.Vae.Config.DownsampleFactor;
        var latents = Torch.Torch.Randn([request.BatchSize, model.UNet.Config.InChannels, h, w], generator, DType.Float32, model.Device)
            .To(model.DType) * scheduler.InitNoiseSigma;
        var active = new List<IReadOnlyList<string>>(steps);
        var first = 0;
        if (resumeFrom is null)
        {
            observer?.OnInitialLatents(latents);
        }
        else
        {
            if (resumeFrom.CompletedSteps < 0 || resumeFrom.CompletedSteps > steps)
                throw new ArgumentException($"checkpoint after step {resumeFrom.CompletedSteps} does not fit a run of {steps} steps", nameof(resumeFrom));
            if (!resumeFrom.Latents.Shape.AsSpan().SequenceEqual(latents.Shape))
                throw new ArgumentException($"checkpoint latents [{string.Join(", ", resumeFrom.Latents.Shape)}] do not fit this request's [{string.Join(", ", latents.Shape)}]", nameof(resumeFrom));
            latents = resumeFrom.Latents.ToTensor(model.Device).To(model.DType);
            scheduler.LoadState(resumeFrom.Scheduler, model.Device);
            generator.SetState(resumeFrom.GeneratorState);
            active.AddRange(resumeFrom.ActiveAdapters);
            first = resumeFrom.CompletedSteps;
        }

        var clock = Stopwatch.StartNew();
        var fused = plan.IsFixedForRun && request.FuseFixedAdapters;
        AdapterActivation? activation = null;
        try
        {
            if (fused)
            {
                activation = Activate(plan.StepSet(0));
                model.Adapters.Fuse(LoraComponent.Unet);
            }
            else if (!plan.IsPerAdapterGuidance || (request.BatchedComposite && adapterDenoiser is null))
            {
                // Concatenate each multi-adapter set the steps use now, once, so every step computes one low-rank
                // term per layer (Switch and sequential Composite use one adapter at a time: nothing to build).
                var sets = Enumerable.Range(first, steps - first).Select(i => plan.StepSet(i).Ids).Where(ids => ids.Count > 1)
                    .DistinctBy(ids => string.Join('\n', ids.Order(StringComparer.Ordinal)));
                foreach (var ids in sets) model.Adapters.Prepare(LoraComponent.Unet, ids);
            }

            for (var i = first; i < steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = TensorScope.Enter();
                var t = scheduler.Timesteps[i];
                var input = scheduler.ScaleModelInput(latents, i);
                using var timestep = Torch.Torch.Scalar(t, DType.Float32, model.Device);
                Tensor noise;
                if (plan.IsPerAdapterGuidance)
                {
                    noise = CompositeNoise(plan, i, input, timestep, textStates, guided, request);
                }
                else
                {
                    if (!fused)
                    {
                        activation?.Dispose();
                        activation = Activate(plan.StepSet(i));
                    }

                    noise = Guide(model.UNet.Forward(guided ? Torch.Torch.Cat([input, input]) : input, timestep, textStates), guided, request.GuidanceScale);
                }

                var next = scheduler.Step(noise, i, latents, generator);
                latents = stepScope.MoveToOuter(next);
                active.Add(plan.ActiveAt(i));
                observer?.OnStep(i, t, latents, active[^1]);
                progress?.Report(new GenerationProgress(i + 1, steps, t, clock.Elapsed));
                if (observer is not null && i + 1 < steps
                    && ((request.CheckpointEvery > 0 && (i + 1) % request.CheckpointEvery == 0) || observer.CheckpointRequested))
                {
                    observer.OnCheckpoint(new GenerationCheckpoint
                    {
                        CompletedSteps = i + 1,
                        Latents = StateTensor.From(latents),
                        Scheduler = scheduler.SaveState(),
                        GeneratorState = generator.GetState(),
                        ActiveAdapters = [.. active],
                    });
                }
            }
        }
        finally
        {
            if (fused) model.Adapters.Unfuse(LoraComponent.Unet);
            model.Adapters.Deactivate(LoraComponent.Unet);
            activation?.Dispose();
        }

        var denoiseTime = clock.Elapsed;
        var parameters = FormatParameters(request, kind, fusionWeights);
        var images = Decode(latents, request, parameters);
        return new GenerationResult
        {
            Images = images,
            Width = request.Width,
            Height = request.Height,
            Parameters = parameters,
            PromptTruncated = condTruncated,
            NegativePromptTruncated = uncondTruncated,
            ActiveAdapters = active,
            FusionWeights = fusionWeights,
            DenoiseTime = denoiseTime,
        };
    }

    private AdapterActivation? Activate((IReadOnlyList<string> Ids, IReadOnlyList<double> Scales) set)
    {
        if (set.Ids.Count == 0)
        {
            model.Adapters.Deactivate(LoraComponent.Unet);
            return null;
        }

        var activation = AdapterActivation.Uniform(set.Ids, set.Scales);
        model.Adapters.Activate(LoraComponent.Unet, activation);
        return activation;
    }

    private static Tensor Guide(Tensor noise, bool guided, double scale)
    {
        if (!guided) return noise;
        var parts = noise.Chunk(2);
        return parts[0] + (parts[1] - parts[0]) * scale;
    }

    // Composite: ε = mean(εᵢᵘ) + g·(mean(εᵢᶜ) − mean(εᵢᵘ)), each adapter alone on its pass.
    private Tensor CompositeNoise(CompositionPlan plan, int step, Tensor input, Tensor timestep, Tensor textStates, bool guided, GenerationRequest request)
    {
        var (ids, scales) = plan.StepSet(step);
        var n = ids.Count;
        var branches = guided ? 2 : 1;
        var batch = input.Size(0);
        Tensor uncondMean, condMean;
        if (request.BatchedComposite && adapterDenoiser is null)
        {
            // Rows ordered (branch, adapter, image): one forward of batch branches·N·B, row r uses adapter (r / B) mod N.
            var rowAdapter = Enumerable.Range(0, (int)(branches * n * batch)).Select(r => (int)(r / batch % n)).ToArray();
            using var activation = AdapterActivation.Segmented(ids, scales, rowAdapter);
            model.Adapters.Activate(LoraComponent.Unet, activation);
            var x = Torch.Torch.Cat(Enumerable.Repeat(input, branches * n).ToList());
            var states = textStates.Chunk(branches).SelectMany(s => Enumerable.Repeat(s, n)).ToList();
            var noise = model.UNet.Forward(x, timestep, Torch.Torch.Cat(states));
            model.Adapters.Deactivate(LoraComponent.Unet);
            var perBranch = noise.Reshape([branches, n, .. input.Shape]).Mean([1]);
            if (!guided) return perBranch.Select(0, 0);
            uncondMean = perBranch.Select(0, 0);
            condMean = perBranch.Select(0, 1);
        }
        else
        {
            var sample = guided ? Torch.Torch.Cat([input, input]) : input;
            // Remote passes first, all at once; the local ones run here meanwhile; then the remote answers are collected.
            var remote = adapterDenoiser?.Start(ids, scales, input, timestep, textStates);
            var noises = new Tensor?[n];
            Tensor Local(int a)
            {
                using var activation = AdapterActivation.Uniform([ids[a]], [scales[a]]);
                model.Adapters.Activate(LoraComponent.Unet, activation);
                return model.UNet.Forward(sample, timestep, textStates);
            }

            for (var a = 0; a < n; a++)
            {
                if (remote?[a] is null) noises[a] = Local(a);
            }

            for (var a = 0; a < n; a++)
            {
                if (remote?[a] is not { } pending) continue;
                // The pipeline's own thread (no synchronization context) waits for the peer.
                var answer = ThreadWait.Result(pending);
                noises[a] = answer is not null && answer.Shape.AsSpan().SequenceEqual(sample.Shape) ? answer.ToTensor(model.Device).To(sample.DType) : Local(a);
            }

            Tensor? sum = null;
            foreach (var noise in noises) sum = sum is null ? noise! : sum + noise!;

            model.Adapters.Deactivate(LoraComponent.Unet);
            var mean = sum! / n;
            if (!guided) return mean;
            var parts = mean.Chunk(2);
            uncondMean = parts[0];
            condMean = parts[1];
        }

        return uncondMean + (condMean - uncondMean) * request.GuidanceScale;
    }

    // Both prompts are encoded once, before the loop, with the text-encoder adapters the method prescribes.
    private (Tensor States, bool Truncated) EncodePrompt(string text, GenerationRequest request, CompositionPlan plan)
    {
        var tokens = model.Tokenizer.Encode(text);
        var ids = TokenIds(tokens);
        var (adapterIds, scales) = plan.TextEncoderSet();
        using var activation = adapterIds.Count > 0 ? AdapterActivation.Uniform(adapterIds, scales) : null;
        if (activation is not null) model.Adapters.Activate(LoraComponent.TextEncoder, activation);
        try
        {
            var states = model.TextEncoder.Encode(ids, request.ClipSkip);
            return (request.BatchSize == 1 ? states : Torch.Torch.Cat(Enumerable.Repeat(states, request.BatchSize).ToList()), tokens.Truncated);
        }
        finally
        {
            model.Adapters.Deactivate(LoraComponent.TextEncoder);
        }
    }

    // Fusion: the key of each adapter and the query are pooled CLIP embeddings of the base text encoder.
    private double[] ComputeFusionWeights(GenerationRequest request)
    {
        using var scope = TensorScope.Enter();
        var query = PooledEmbedding(request.Prompt);
        var keys = request.Adapters.Select(a => PooledEmbedding(a.FusionKey ?? NameOf(a))).ToList();
        return FusionWeights.Compute(query, keys, request.FusionTemperature);
    }

    // [1, 77] int64 ids on the model's device, as the text encoder takes them.
    private Tensor TokenIds(TokenizedPrompt tokens) =>
        Tensor.FromArray(tokens.Ids.Select(i => (long)i).ToArray(), 1, tokens.Ids.Count).To(model.Device);

    private float[] PooledEmbedding(string text)
    {
        var tokens = model.Tokenizer.Encode(text);
        var ids = TokenIds(tokens);
        using var output = model.TextEncoder.Forward(ids);
        return output.PooledOutput.To(Device.Cpu, DType.Float32).ToArray<float>();
    }

    private string FormatParameters(GenerationRequest request, SchedulerKind kind, double[]? fusionWeights)
    {
        var extra = new List<KeyValuePair<string, string>>();
        if (request.Adapters.Count > 0)
        {
            var inv = CultureInfo.InvariantCulture;
            extra.Add(new("Lora method", request.Method.Name()));
            extra.Add(new("Lora scale", request.LoraScale.ToString("0.###", inv)));
            extra.Add(new("Lora", string.Join(", ", request.Adapters.Select(a =>
                $"{NameOf(a)}: {a.Weight.ToString("0.###", inv)}" + (a.Schedule is null ? "" : $" @{a.Schedule}")))));
            extra.Add(new("Lora hashes", string.Join(", ", request.Adapters.Select(a => $"{NameOf(a)}: {model.Adapters[a.Id].ContentHash[..10]}"))));
            if (request.Method == CompositionMethod.Switch) extra.Add(new("Switch every", request.SwitchEvery.ToString(inv)));
            if (fusionWeights is not null)
            {
                extra.Add(new("Fusion weights", string.Join(", ", fusionWeights.Select(f => f.ToString("0.####", inv)))));
                extra.Add(new("Fusion temperature", request.FusionTemperature.ToString("0.###", inv)));
            }
        }

        return GenerationParameters.Format(request, kind.SamplerName(), model.ModelHash, model.Name, extra);
    }

    private string NameOf(AdapterUse adapter) => adapter.Name ?? model.Adapters[adapter.Id].Name;

    private List<byte[]> Decode(Tensor latents, GenerationRequest request, string parameters)
    {
        var images = new List<byte[]>(request.BatchSize);
        var text = new Dictionary<string, string> { ["parameters"] = parameters };
        for (var b = 0; b < latents.Size(0); b++)
        {
            using var scope = TensorScope.Enter();
            var z = latents.Narrow(0, b, 1) / model.Vae.Config.ScalingFactor;
            var image = model.Vae.Decode(z);
            var rgb = ((image.To(DType.Float32) / 2 + 0.5).Clamp(0, 1) * 255).Round().To(DType.UInt8)
                .Permute(0, 2, 3, 1).Contiguous().ToArray<byte>();
            images.Add(PngEncoder.Encode(rgb, request.Width, request.Height, text));
        }

        return images;
    }
}
