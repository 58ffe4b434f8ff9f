using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace LoraGrains.Cluster.Storage;

/// <summary>One versioned schema change, as shipped inside this assembly.</summary>
/// <param name="Version">Strictly increasing version; the file name's numeric prefix.</param>
/// <param name="Name">The file name without version and extension, e.g. <c>initial</c>.</param>
/// <param name="Sql">The script, run in the migration transaction.</param>
public sealed record SchemaMigration(int Version, string Name, string Sql)
{
    /// <summary>
    /// SHA-256 of the script with line endings normalised: recorded when applied, and compared at every
    /// start so that a script edited after it ran somewhere is caught instead of silently diverging.
    /// </summary>
    public string Checksum { get; } =
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));

    /// <summary>Loads the embedded scripts <c>migrations/{dialect}/NNNN_name.sql</c>, ordered by version.</summary>
    /// <param name="dialect">The folder name: <c>postgres</c> or <c>sqlite</c>.</param>
    internal static IReadOnlyList<SchemaMigration> LoadEmbedded(string dialect)
    {
        var assembly = typeof(SchemaMigration).Assembly;
        var prefix = $"migrations/{dialect}/";
        var migrations = new List<SchemaMigration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[prefix.Length..^".sql".Length];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName.AsSpan(0, underscore), out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' must be named NNNN_name.sql.");
            }

            migrations.Add(new SchemaMigration(version, fileName[(underscore + 1)..], Read(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two {dialect} migrations share version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded migration '{resource}'.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
