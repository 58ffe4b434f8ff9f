namespace LoraGrains.Diffusion.Lora;

/// <summary>The key naming of a LoRA file, detected from its tensor names.</summary>
public enum LoraFormat
{
    /// <summary>
    /// kohya-ss sd-scripts (also LyCORIS LoCon and A1111 exports): <c>lora_unet_…</c> / <c>lora_te_…</c> /
    /// <c>lora_te1_…</c> with <c>.lora_down.weight</c>, <c>.lora_up.weight</c> and <c>.alpha</c>.
    /// </summary>
    Kohya,

    /// <summary>
    /// Pre-PEFT diffusers naming: <c>unet.&lt;module&gt;.lora.down.weight</c>,
    /// <c>text_encoder.&lt;module&gt;.lora_linear_layer.down.weight</c>, and the older attention-processor
    /// naming <c>…attn1.processor.to_q_lora.down.weight</c> / <c>…self_attn.to_q_lora.down.weight</c>.
    /// </summary>
    Diffusers,

    /// <summary>PEFT naming as <c>get_peft_model_state_dict</c> writes it: <c>unet.&lt;module&gt;.lora_A.weight</c> / <c>lora_B.weight</c>.</summary>
    Peft,
}
