namespace LoraGrains.Diffusion.Tests;

/// <summary>Locates the golden fixtures copied into tests/fixtures (found by walking up from the test binaries).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "fixtures", "sd-tiny");
            if (Directory.Exists(candidate)) return candidate;
        }

        throw new DirectoryNotFoundException("tests/fixtures/sd-tiny not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The sd-tiny fixture folder (a diffusers model folder plus refs/ and loras/).</summary>
    public static string SdTiny => Root.Value;

    /// <summary>A path inside the sd-tiny fixture folder.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([SdTiny, .. parts]);
}
