using LoraGrains.Diffusion.Composition;

namespace LoraGrains.Diffusion.Tests.Composition;

public sealed class ScheduleTests
{
    [Fact]
    public void Switch_follows_the_reference_callback_not_floor_k_over_tau()
    {
        // τ = 2, N = 2: the reference record is a a a b b a a b (the first adapter runs τ+1 steps).
        var active = Enumerable.Range(0, 8).Select(k => SwitchSchedule.ActiveAt(k, 2, 2)).ToArray();
        Assert.Equal([0, 0, 0, 1, 1, 0, 0, 1], active);
        // ⌊k/τ⌋ mod N would give 0 0 1 1 0 0 1 1.
        Assert.NotEqual([0, 0, 1, 1, 0, 0, 1, 1], active);
        Assert.Equal([0, 0, 1, 2, 0, 1], Enumerable.Range(0, 6).Select(k => SwitchSchedule.ActiveAt(k, 1, 3)).ToArray());
    }

    [Fact]
    public void Keyframes_are_piecewise_constant()
    {
        var late = WeightSchedule.Parse("0=0;0.6=1");
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], Enumerable.Range(0, 10).Select(k => late.At(k, 10)).ToArray());
        var ramp = WeightSchedule.Parse("0.5=0.5; 0=1 ;0.75=0");
        Assert.Equal([1, 1, 0.5, 0], new[] { 0, 1, 2, 3 }.Select(k => ramp.At(k, 4)).ToArray());
        Assert.Equal("0=1;0.5=0.5;0.75=0", ramp.ToString());
    }

    [Theory]
    [InlineData("", "at least one keyframe")]
    [InlineData("0.5", "POSITION=WEIGHT")]
    [InlineData("1.5=1", "between 0 and 1")]
    [InlineData("0=abc", "POSITION=WEIGHT")]
    [InlineData("0=11", "between -10 and 10")]
    public void Bad_schedules_are_refused(string text, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => WeightSchedule.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_scales_follow_method_weights_and_schedules()
    {
        AdapterUse[] adapters = [new("a", 1.0), new("b", 0.5, WeightSchedule.Parse("0=0;0.5=1"))];

        var merge = new CompositionPlan(CompositionMethod.Merge, adapters, 0.8, 1, 4);
        Assert.Equal([0.8, 0.0], merge.StepSet(0).Scales);
        Assert.Equal([0.8, 0.4], merge.StepSet(2).Scales);
        Assert.False(merge.IsFixedForRun); // a schedule makes the set change over the run

        var sw = new CompositionPlan(CompositionMethod.Switch, adapters, 0.8, 1, 4);
        Assert.Equal(["a"], sw.TextEncoderSet().Ids);
        Assert.Equal(["a"], sw.StepSet(1).Ids); // step 0 and steps 1..τ use the first adapter
        Assert.Equal(["b"], sw.StepSet(2).Ids);

        var fusion = new CompositionPlan(CompositionMethod.Fusion, [new("a"), new("b")], 0.8, 1, 4, [0.25, 0.75]);
        Assert.Equal([0.2, 0.6000000000000001], fusion.StepSet(0).Scales);
        Assert.True(fusion.IsFixedForRun);
        Assert.Throws<ArgumentException>(() => new CompositionPlan(CompositionMethod.Fusion, adapters, 0.8, 1, 4));
    }

    [Fact]
    public void Fusion_weights_are_a_softmax_of_cosines()
    {
        float[] q = [1, 0];
        var w = FusionWeights.Compute(q, [[1, 0], [0, 1]], 0.5);
        // softmax([1/0.5, 0/0.5]) = [e²/(e²+1), 1/(e²+1)]
        Assert.Equal(Math.Exp(2) / (Math.Exp(2) + 1), w[0], 12);
        Assert.Equal(1 / (Math.Exp(2) + 1), w[1], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => FusionWeights.Compute(q, [[1, 0]], 0));
    }
}
