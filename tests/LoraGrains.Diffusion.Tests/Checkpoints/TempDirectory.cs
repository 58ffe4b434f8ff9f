namespace LoraGrains.Diffusion.Tests.Checkpoints;

/// <summary>A scratch folder deleted on dispose, with copies of fixture parts.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lg-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Copies the sd-tiny diffusers model (index + component folders, not refs/ or loras/) here.</summary>
    public string CopyDiffusersModel()
    {
        System.IO.File.Copy(Fixtures.Path("model_index.json"), File("model_index.json"));
        foreach (var component in new[] { "unet", "vae", "text_encoder", "tokenizer", "scheduler" })
        {
            Directory.CreateDirectory(File(component));
            foreach (var f in Directory.EnumerateFiles(Fixtures.Path(component)))
                System.IO.File.Copy(f, File(component, System.IO.Path.GetFileName(f)));
        }

        return Path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a still-mapped file on some platforms; the OS temp cleaner gets it later.
        }
    }
}
