namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>The fixture LoRA files copied beside the tests with the CLI's embedded model.</summary>
public static class TestAdapters
{
    /// <summary>A kohya LoRA for the tiny model.</summary>
    public static string LoraA => Path.Combine(AppContext.BaseDirectory, "models", "sd-tiny", "loras", "lora_a_kohya.safetensors");

    /// <summary>A kohya LoCon for the tiny model.</summary>
    public static string LoraB => Path.Combine(AppContext.BaseDirectory, "models", "sd-tiny", "loras", "lora_b_locon_kohya.safetensors");
}
