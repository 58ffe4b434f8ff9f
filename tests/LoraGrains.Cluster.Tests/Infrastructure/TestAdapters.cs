using LoraGrains.Cluster.Runtime;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>The fixture LoRA files copied beside the tests (with the CLI's embedded model, or by this project).</summary>
public static class TestAdapters
{
    /// <summary>A kohya LoRA for the tiny model.</summary>
    public static string LoraA => Path.Combine(ModelHost.EmbeddedModelPath, "loras", "lora_a_kohya.safetensors");

    /// <summary>A kohya LoCon for the tiny model.</summary>
    public static string LoraB => Path.Combine(ModelHost.EmbeddedModelPath, "loras", "lora_b_locon_kohya.safetensors");

    /// <summary>A second kohya LoRA for the tiny model.</summary>
    public static string LoraC => Path.Combine(AppContext.BaseDirectory, "fixtures", "loras", "lora_c_kohya.safetensors");

    /// <summary>A diffusers-format LoRA for the tiny model.</summary>
    public static string LoraD => Path.Combine(AppContext.BaseDirectory, "fixtures", "loras", "lora_d_diffusers.safetensors");
}
