namespace LoraGrains.Diffusion.Composition;

/// <summary>The active adapter of Switch(τ) at each step.</summary>
public static class SwitchSchedule
{
    /// <summary>
    /// The reference implementation switches in a callback after step k when k &gt; 0 and k mod τ = 0, so the
    /// active adapter at step k is 0 for k = 0, else ⌊(k−1)/τ⌋ mod N (the first adapter runs τ+1 steps).
    /// </summary>
    public static int ActiveAt(int step, int every, int adapterCount)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "switch interval must be >= 1");
        if (adapterCount < 1) throw new ArgumentOutOfRangeException(nameof(adapterCount), adapterCount, "at least one adapter");
        return step == 0 ? 0 : (step - 1) / every % adapterCount;
    }
}
