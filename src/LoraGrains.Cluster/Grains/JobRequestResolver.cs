using System.Text.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Storage;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Diffusion.Schedulers;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// Turns an API <see cref="JobRequest"/> into a complete, validated one (absent fields from the session, then the
/// defaults) and that into the engine's <see cref="GenerationRequest"/>. Adapters are identified by content hash.
/// </summary>
public static class JobRequestResolver
{
    /// <summary>Longest accepted prompt or negative prompt, in characters.</summary>
    public const int MaxPromptChars = 4096;

    /// <summary>Fills absent fields and validates every one; throws <see cref="ArgumentException"/> naming the field and its limit.</summary>
    /// <param name="request">The request as received.</param>
    /// <param name="session">The session it names, if any.</param>
    /// <param name="nativeSize">The model's native image side.</param>
    public static JobRequest Resolve(JobRequest request, SessionRecord? session, int nativeSize)
    {
        ArgumentNullException.ThrowIfNull(request);
        var defaults = session is null ? new JobRequest() : ParseSettings(session.SettingsJson);
        var sessionAdapters = session is null ? [] : ParseAdapterSet(session.AdapterSetJson);
        var resolved = new JobRequest
        {
            SessionId = request.SessionId,
            Prompt = request.Prompt ?? defaults.Prompt,
            NegativePrompt = request.NegativePrompt ?? defaults.NegativePrompt ?? string.Empty,
            Steps = request.Steps ?? defaults.Steps ?? 20,
            GuidanceScale = request.GuidanceScale ?? defaults.GuidanceScale ?? 7.5,
            Scheduler = request.Scheduler ?? defaults.Scheduler ?? "dpmpp-2m",
            Seed = request.Seed ?? defaults.Seed ?? 0,
            Width = request.Width ?? defaults.Width ?? nativeSize,
            Height = request.Height ?? defaults.Height ?? nativeSize,
            Adapters = request.Adapters ?? defaults.Adapters ?? sessionAdapters.Select(a => new JobAdapter(a.Hash, a.Weight)).ToList(),
            Method = (request.Method ?? defaults.Method ?? "composite").Trim().ToLowerInvariant(),
            SwitchEvery = request.SwitchEvery ?? defaults.SwitchEvery ?? 5,
            LoraScale = request.LoraScale ?? defaults.LoraScale ?? 0.8,
            FusionTemperature = request.FusionTemperature ?? defaults.FusionTemperature ?? 0.1,
            ClipSkip = request.ClipSkip ?? defaults.ClipSkip ?? 0,
            BatchSize = request.BatchSize ?? defaults.BatchSize ?? 1,
            BatchedComposite = request.BatchedComposite ?? defaults.BatchedComposite ?? true,
            CheckpointEvery = request.CheckpointEvery ?? defaults.CheckpointEvery ?? 0,
            DistributedComposite = request.DistributedComposite ?? defaults.DistributedComposite ?? false,
        };
        if (string.IsNullOrWhiteSpace(resolved.Prompt))
        {
            throw new ArgumentException("prompt is required", "prompt");
        }

        if (resolved.Prompt.Length > MaxPromptChars)
        {
            throw new ArgumentException($"prompt may be at most {MaxPromptChars} characters (got {resolved.Prompt.Length})", "prompt");
        }

        if (resolved.NegativePrompt!.Length > MaxPromptChars)
        {
            throw new ArgumentException($"negativePrompt may be at most {MaxPromptChars} characters (got {resolved.NegativePrompt.Length})", "negativePrompt");
        }

        foreach (var adapter in resolved.Adapters)
        {
            if (adapter is null)
            {
                throw new ArgumentException("adapters must not contain null entries", "adapters");
            }

            StorageKeys.ContentHash(adapter.Hash, "adapters");
            if (adapter.FusionKey is { Length: > MaxPromptChars })
            {
                throw new ArgumentException($"adapters: the fusion key of {adapter.Hash[..12]} may be at most {MaxPromptChars} characters (got {adapter.FusionKey.Length})", "adapters");
            }

            if (adapter.Name is not null && (string.IsNullOrWhiteSpace(adapter.Name) || adapter.Name.Length > MaxAdapterNameChars))
            {
                throw new ArgumentException($"adapters: the name of {adapter.Hash[..12]} must be non-blank and at most {MaxAdapterNameChars} characters", "adapters");
            }

            _ = ParseSchedule(adapter);
        }

        if (!SchedulerKinds.TryParse(resolved.Scheduler, out _))
        {
            throw new ArgumentException($"unknown scheduler '{resolved.Scheduler}' (allowed: {string.Join(", ", SchedulerKinds.CliNames)})", "scheduler");
        }

        try
        {
            CompositionMethods.Parse(resolved.Method);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message.Split(" (Parameter", 2)[0], "method", e);
        }

        ToGeneration(resolved);
        return resolved;
    }

    /// <summary>The engine request of a resolved job request (adapter ids are the content hashes).</summary>
    /// <exception cref="ArgumentException">A field is out of range; <see cref="ArgumentException.ParamName"/> is its JSON name.</exception>
    public static GenerationRequest ToGeneration(JobRequest resolved)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        var generation = new GenerationRequest
        {
            Prompt = resolved.Prompt ?? string.Empty,
            NegativePrompt = resolved.NegativePrompt ?? string.Empty,
            Steps = resolved.Steps ?? 20,
            GuidanceScale = resolved.GuidanceScale ?? 7.5,
            Scheduler = resolved.Scheduler ?? "dpmpp-2m",
            Seed = resolved.Seed ?? 0,
            Width = resolved.Width ?? 512,
            Height = resolved.Height ?? 512,
            BatchSize = resolved.BatchSize ?? 1,
            ClipSkip = resolved.ClipSkip ?? 0,
            Adapters = (resolved.Adapters ?? []).Select(a => new AdapterUse(a.Hash, a.Weight, ParseSchedule(a), a.FusionKey, a.Name)).ToList(),
            Method = CompositionMethods.Parse(resolved.Method ?? "composite"),
            SwitchEvery = resolved.SwitchEvery ?? 5,
            LoraScale = resolved.LoraScale ?? 0.8,
            FusionTemperature = resolved.FusionTemperature ?? 0.1,
            CheckpointEvery = resolved.CheckpointEvery ?? 0,
            // Composite across silos needs the per-adapter passes it sends to peers.
            BatchedComposite = resolved.DistributedComposite != true && resolved.BatchedComposite != false,
        };
        try
        {
            generation.Validate();
        }
        catch (ArgumentException e)
        {
            var field = e.ParamName is { Length: > 0 } p ? JsonNamingPolicy.CamelCase.ConvertName(p) : null;
            var message = e.Message.Split(" (Parameter", 2)[0].Split("\nActual value", 2)[0];
            if (field is not null && e is ArgumentOutOfRangeException { ActualValue: { } actual })
            {
                message += $" (got {actual})";
            }

            throw new ArgumentException(field is null ? message : $"{field}: {message}", field, e);
        }

        return generation;
    }

    /// <summary>Longest accepted adapter display name, in characters (as registered names).</summary>
    public const int MaxAdapterNameChars = 256;

    private static WeightSchedule? ParseSchedule(JobAdapter adapter)
    {
        if (adapter.Schedule is null)
        {
            return null;
        }

        try
        {
            return WeightSchedule.Parse(adapter.Schedule);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            var hash = adapter.Hash is { Length: > 12 } h ? h[..12] : adapter.Hash;
            throw new ArgumentException($"adapters: the schedule of {hash} is invalid: {e.Message.Split(" (Parameter", 2)[0]}", "adapters", e);
        }
    }

    /// <summary>Parses a session's settings (a JSON object with <see cref="JobRequest"/> field names).</summary>
    public static JobRequest ParseSettings(string settingsJson)
    {
        try
        {
            return JsonSerializer.Deserialize<JobRequest>(settingsJson, LoraGrainsJson.Options) ?? new JobRequest();
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"settings: {e.Message}", "settings", e);
        }
    }

    /// <summary>Parses a session's adapter set.</summary>
    public static IReadOnlyList<SessionAdapterEntry> ParseAdapterSet(string adapterSetJson)
    {
        try
        {
            return JsonSerializer.Deserialize<List<SessionAdapterEntry>>(adapterSetJson, LoraGrainsJson.Options) ?? [];
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"adapters: {e.Message}", "adapters", e);
        }
    }
}
