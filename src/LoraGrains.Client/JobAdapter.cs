namespace LoraGrains.Client;

/// <summary>An adapter a job composes.</summary>
/// <param name="Hash">Content hash of a registered adapter.</param>
/// <param name="Weight">Its user weight (-10..10).</param>
/// <param name="Schedule">
/// Weight keyframes over the run, <c>POS=W;POS=W</c> with positions in [0, 1] (e.g. <c>0=0;0.6=1</c>: only in the last 40%
/// of steps); the weight is multiplied by the interpolated keyframe value. None: constant.
/// </param>
/// <param name="FusionKey">Fusion only: the adapter's key text (description or trigger words); default: its name.</param>
/// <param name="Name">The name shown in the image's metadata (default: the tenant's registered name for the hash).</param>
public sealed record JobAdapter(string Hash, double Weight = 1.0, string? Schedule = null, string? FusionKey = null, string? Name = null);
