using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// One model component ready for a model class: its weights keyed by diffusers/transformers names (still
/// memory-mapped; owned by the checkpoint that produced it) and its diffusers-style config.json content.
/// </summary>
/// <param name="Name">"unet", "vae" or "text_encoder".</param>
/// <param name="Weights">Tensors by diffusers/transformers name; valid until the owning checkpoint is disposed.</param>
/// <param name="Config">config.json content (read from the folder, or derived for single files).</param>
/// <param name="WeightsPath">The file the tensors are mapped from.</param>
public sealed record CheckpointComponent(string Name, StateDict Weights, JsonObject Config, string WeightsPath);
