namespace LoraGrains.Diffusion.Tests;

/// <summary>Locates the golden fixtures checked into tests/fixtures.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> s_sdTiny = new(() => Find(Path.Combine("tests", "fixtures", "sd-tiny")));

    /// <summary>The sd-tiny fixture folder (tiny SD 1.x model and diffusers references).</summary>
    public static string SdTiny => s_sdTiny.Value;

    // Walks up from the test binaries to the repository that holds the fixture folder.
    private static string Find(string relativePath)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, relativePath);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"No {relativePath} above {AppContext.BaseDirectory}.");
    }
}
