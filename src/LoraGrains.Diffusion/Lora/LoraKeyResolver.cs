using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// Matches the tensor names of a LoRA file to a model's target modules and checks everything that can be
/// checked from the header alone (format, pairing, ranks, shapes), so a bad file is refused before any
/// tensor data is read.
/// </summary>
internal static class LoraKeyResolver
{
    private const string NotALoraKey =
        "not a LoRA tensor name (kohya lora_down/lora_up/alpha, diffusers lora.down/lora.up, PEFT lora_A/lora_B)";

    private sealed class Group(LoraKey first)
    {
        public string Component { get; } = first.Component;
        public string Module { get; } = first.Module;
        public bool IsKohya { get; } = first.Format == LoraFormat.Kohya;
        public LoraKey? Down { get; set; }
        public LoraKey? Up { get; set; }
        public LoraKey? Alpha { get; set; }
        public IEnumerable<string> Keys => new[] { Down, Up, Alpha }.OfType<LoraKey>().Select(k => k.Key);
        public string Describe() => $"{Component} module '{Module}'";
    }

    public static LoraResolution Resolve(SafetensorsFile file, LoraTargetIndex index, LoraLoadOptions options)
    {
        var path = file.FilePath;
        if (file.Entries.Count == 0) throw new LoraFormatException(path, "holds no tensors");
        var unmatched = new List<LoraUnmatchedKey>();
        var groups = GroupKeys(file, unmatched);
        var format = DetectFormat(path, groups);

        var matched = new List<(Group Group, LoraTargetModule Target)>();
        var unmatchedModules = new List<(Group Group, string Reason)>();
        var pairs = 0;
        foreach (var g in groups)
        {
            if (g.Down is null && g.Up is null)
            {
                unmatched.Add(new(g.Alpha!.Key, $"alpha of {g.Describe()}, which has no down/up weights"));
                continue;
            }

            if (g.Up is null)
                throw new LoraFormatException(path, $"{g.Describe()} has a down weight '{g.Down!.Key}' but no up weight");
            if (g.Down is null)
                throw new LoraFormatException(path, $"{g.Describe()} has an up weight '{g.Up.Key}' but no down weight");

            pairs++;
            var target = Find(index, g, out var reason);
            if (target is null) unmatchedModules.Add((g, reason!));
            else matched.Add((g, target));
        }

        foreach (var (g, reason) in unmatchedModules)
            unmatched.AddRange(g.Keys.Select(k => new LoraUnmatchedKey(k, reason)));
        unmatched.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));

        // A file for another base model (SDXL on SD 1.5, say) may share a few module names by chance;
        // applying that fraction would be silently wrong, so a mostly-unmatched file is refused outright.
        if (unmatchedModules.Count * 2 > pairs)
        {
            var (g, reason) = unmatchedModules[0];
            throw new LoraFormatException(path,
                $"{unmatchedModules.Count} of {pairs} modules match no layer of this model (is it for another base model, e.g. SDXL?); " +
                $"first: '{g.Down!.Key}': {reason}");
        }

        if (options.RejectUnmatchedKeys && unmatched.Count > 0)
        {
            throw new LoraFormatException(path,
                $"{unmatched.Count} of {file.Entries.Count} keys are not applied, first: '{unmatched[0].Key}': {unmatched[0].Reason}");
        }

        var byTarget = new Dictionary<LoraTargetModule, Group>();
        var modules = new List<LoraResolvedModule>(matched.Count);
        foreach (var (g, target) in matched.OrderBy(m => m.Target.Component, StringComparer.Ordinal).ThenBy(m => m.Target.Path, StringComparer.Ordinal))
        {
            if (!byTarget.TryAdd(target, g))
                throw new LoraFormatException(path, $"'{byTarget[target].Down!.Key}' and '{g.Down!.Key}' both adapt {target.QualifiedName}");
            var down = file[g.Down!.Key];
            var up = file[g.Up!.Key];
            var alpha = g.Alpha is { } a ? file[a.Key] : null;
            CheckShapes(path, target, down, up, alpha);
            modules.Add(new LoraResolvedModule(target, down, up, alpha));
        }

        return new LoraResolution(format, modules, unmatched);
    }

    private static List<Group> GroupKeys(SafetensorsFile file, List<LoraUnmatchedKey> unmatched)
    {
        var groups = new Dictionary<(bool Kohya, string Component, string Module), Group>();
        var order = new List<Group>();
        var unsupported = new List<(string Key, string Kind)>();
        foreach (var key in file.Entries.Keys.Order(StringComparer.Ordinal))
        {
            var parsed = LoraKey.Parse(key, out var kind);
            if (kind is not null)
            {
                unsupported.Add((key, kind));
                continue;
            }

            if (parsed is null)
            {
                unmatched.Add(new(key, NotALoraKey));
                continue;
            }

            var id = (parsed.Format == LoraFormat.Kohya, parsed.Component, parsed.Module);
            if (!groups.TryGetValue(id, out var g))
            {
                g = new Group(parsed);
                groups.Add(id, g);
                order.Add(g);
            }

            var existing = parsed.Role switch
            {
                LoraKeyRole.Down => g.Down,
                LoraKeyRole.Up => g.Up,
                _ => g.Alpha,
            };
            if (existing is not null)
            {
                throw new LoraFormatException(file.FilePath,
                    $"'{existing.Key}' and '{key}' are both the {RoleName(parsed.Role)} of {g.Describe()}");
            }

            switch (parsed.Role)
            {
                case LoraKeyRole.Down: g.Down = parsed; break;
                case LoraKeyRole.Up: g.Up = parsed; break;
                default: g.Alpha = parsed; break;
            }
        }

        if (unsupported.Count > 0)
        {
            var kinds = string.Join(", ", unsupported.Select(u => u.Kind).Distinct());
            var lead = unsupported.Any(u => u.Kind is "LyCORIS LoHa" or "LyCORIS LoKr")
                ? "unsupported LyCORIS LoHa/LoKr adapter"
                : "unsupported adapter type";
            throw new LoraFormatException(file.FilePath,
                $"{lead} ({kinds}: {unsupported.Count} of {file.Entries.Count} keys, e.g. '{unsupported[0].Key}'); only LoRA/LoCon (down/up pairs) can be loaded");
        }

        return order;
    }

    private static LoraFormat DetectFormat(string path, List<Group> groups)
    {
        var formats = new Dictionary<LoraFormat, string>();
        foreach (var k in groups.SelectMany(g => new[] { g.Down, g.Up, g.Alpha }).OfType<LoraKey>())
        {
            if (k.Format is { } f) formats.TryAdd(f, k.Key);
        }

        if (formats.Count == 0)
        {
            throw new LoraFormatException(path,
                "no LoRA keys found (expected kohya lora_down/lora_up, diffusers lora.down/lora.up or PEFT lora_A/lora_B tensors); is it a model checkpoint?");
        }

        if (formats.Count > 1)
        {
            throw new LoraFormatException(path,
                "mixes LoRA key namings: " + string.Join(", ", formats.OrderBy(p => p.Key).Select(p => $"{p.Key} (e.g. '{p.Value}')")));
        }

        return formats.Keys.Single();
    }

    private static LoraTargetModule? Find(LoraTargetIndex index, Group g, out string? reason)
    {
        reason = null;
        if (!index.HasComponent(g.Component))
        {
            reason = $"this model has no {g.Component} component";
            return null;
        }

        if (!g.IsKohya)
        {
            var t = index.FindByPath(g.Component, g.Module);
            if (t is null) reason = $"no {g.Component} layer '{g.Module}' in this model";
            return t;
        }

        var target = index.FindByKohyaName(g.Component, g.Module, out var ambiguous);
        if (target is null)
        {
            reason = ambiguous
                ? $"kohya name '{g.Module}' fits several {g.Component} layers"
                : $"kohya name '{g.Module}' matches no {g.Component} layer of this model";
        }

        return target;
    }

    private static void CheckShapes(string path, LoraTargetModule target, SafetensorsEntry down, SafetensorsEntry up, SafetensorsEntry? alpha)
    {
        foreach (var e in new[] { down, up, alpha }.OfType<SafetensorsEntry>())
        {
            if (!e.DType.IsFloatingPoint())
                throw new LoraFormatException(path, $"'{e.Name}' is {e.DType}, expected a floating-point tensor");
        }

        foreach (var e in new[] { down, up })
        {
            if (e.Shape.Length is not (2 or 4))
                throw new LoraFormatException(path, $"'{e.Name}' has shape {Show(e.Shape)}; a LoRA weight has 2 (Linear) or 4 (Conv2d) dimensions");
        }

        long rank = down.Shape[0], upRank = up.Shape[1];
        if (rank != upRank)
        {
            throw new LoraFormatException(path,
                $"rank mismatch for {target.QualifiedName}: down '{down.Name}' {Show(down.Shape)} has rank {rank} but up '{up.Name}' {Show(up.Shape)} has rank {upRank}");
        }

        if (rank == 0) throw new LoraFormatException(path, $"'{down.Name}' has rank 0");

        var expectedDown = target.DownShape(rank);
        if (!Fits(down.Shape, expectedDown))
            throw new LoraFormatException(path, $"down '{down.Name}' {Show(down.Shape)} does not fit {target}: expected {Show(expectedDown)}");
        var expectedUp = target.UpShape(rank);
        if (!Fits(up.Shape, expectedUp))
            throw new LoraFormatException(path, $"up '{up.Name}' {Show(up.Shape)} does not fit {target}: expected {Show(expectedUp)}");

        if (alpha is not null && alpha.NumEl != 1)
            throw new LoraFormatException(path, $"alpha '{alpha.Name}' has shape {Show(alpha.Shape)}, expected a single value");
    }

    /// <summary>
    /// Equal shapes, or the same 1×1 weight written the other way: trainers store the LoRA of a 1×1 conv as
    /// [r, in] or of a Linear as [r, in, 1, 1] when the base model has the other layer type (SD 2 vs SD 1 proj_in).
    /// </summary>
    internal static bool Fits(long[] actual, long[] expected)
    {
        if (actual.AsSpan().SequenceEqual(expected)) return true;
        if (actual.Length == 2 && expected is [_, _, 1, 1]) return actual.AsSpan().SequenceEqual(expected.AsSpan(0, 2));
        if (expected.Length == 2 && actual is [_, _, 1, 1]) return actual.AsSpan(0, 2).SequenceEqual(expected);
        return false;
    }

    private static string RoleName(LoraKeyRole role) => role switch
    {
        LoraKeyRole.Down => "down weight",
        LoraKeyRole.Up => "up weight",
        _ => "alpha",
    };

    internal static string Show(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
