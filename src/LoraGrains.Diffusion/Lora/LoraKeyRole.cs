namespace LoraGrains.Diffusion.Lora;

/// <summary>What a LoRA tensor is for its module.</summary>
internal enum LoraKeyRole
{
    /// <summary>The down projection (kohya lora_down, PEFT lora_A), [r, in] or [r, in, k, k].</summary>
    Down,

    /// <summary>The up projection (kohya lora_up, PEFT lora_B), [out, r] or [out, r, 1, 1].</summary>
    Up,

    /// <summary>The scalar alpha; the module's scale is alpha / rank.</summary>
    Alpha,
}
