using System.Globalization;

namespace LoraGrains.Cli;

/// <summary>The command line after the command name: <c>--name value</c> options, repeatable ones, and flags.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, List<string>> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    public Arguments(IReadOnlyList<string> args, IReadOnlySet<string> flagNames)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length < 3) throw new UsageException($"unexpected argument '{a}'");
            var name = a[2..];
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                Add(name[..eq], name[(eq + 1)..]);
            }
            else if (flagNames.Contains(name))
            {
                flags.Add(name);
            }
            else
            {
                if (i + 1 >= args.Count) throw new UsageException($"--{name} needs a value");
                Add(name, args[++i]);
            }
        }
    }

    private void Add(string name, string value)
    {
        if (!values.TryGetValue(name, out var list)) values[name] = list = [];
        list.Add(value);
    }

    public bool Flag(string name)
    {
        read.Add(name);
        return flags.Contains(name);
    }

    public string? String(string name)
    {
        read.Add(name);
        if (!values.TryGetValue(name, out var list)) return null;
        if (list.Count > 1) throw new UsageException($"--{name} is given {list.Count} times");
        return list[0];
    }

    public IReadOnlyList<string> All(string name)
    {
        read.Add(name);
        return values.TryGetValue(name, out var list) ? list : [];
    }

    public int? Int(string name)
    {
        var s = String(name);
        if (s is null) return null;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new UsageException($"--{name} must be an integer, got '{s}'");
    }

    public ulong? ULong(string name)
    {
        var s = String(name);
        if (s is null) return null;
        return ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new UsageException($"--{name} must be a non-negative integer, got '{s}'");
    }

    public double? Double(string name)
    {
        var s = String(name);
        if (s is null) return null;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"--{name} must be a number, got '{s}'");
    }

    /// <summary>Fails on options the command never asked for (typos must not be silently ignored).</summary>
    public void RejectUnknown()
    {
        var unknown = values.Keys.Concat(flags).Where(k => !read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>The command line is wrong; the message says how.</summary>
internal sealed class UsageException(string message) : Exception(message);
