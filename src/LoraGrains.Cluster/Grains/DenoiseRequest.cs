using LoraGrains.Diffusion.Schedulers;

namespace LoraGrains.Cluster.Grains;

/// <summary>Body of the silo-to-silo <c>POST /internal/v1/denoise</c>: one UNet evaluation with one adapter active.</summary>
/// <param name="AdapterHash">The adapter (content hash), loaded from the shared data directory if not resident.</param>
/// <param name="Scale">Its effective scale.</param>
/// <param name="Sample">The scaled model input (both guidance branches).</param>
/// <param name="Timestep">The timestep, a scalar tensor.</param>
/// <param name="TextStates">The text encoder states of the branches.</param>
public sealed record DenoiseRequest(string AdapterHash, double Scale, StateTensor Sample, StateTensor Timestep, StateTensor TextStates);
