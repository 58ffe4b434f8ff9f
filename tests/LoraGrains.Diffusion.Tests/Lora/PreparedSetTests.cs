using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Diffusion.Tests.Pipeline;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>
/// Activation never copies: an unprepared set computes one low-rank term per adapter, a prepared one a single
/// concatenated term; both give the same UNet output, whatever the order the set is named in.
/// </summary>
public sealed class PreparedSetTests : IClassFixture<SdTinyModel>, IDisposable
{
    private static readonly string[] Names = ["lora_a_kohya", "lora_b_locon_kohya", "lora_c_kohya"];
    private readonly SdTinyModel tiny;
    private readonly List<LoraAdapter> adapters = [];
    private readonly IAdaptableLayer shared;

    public PreparedSetTests(SdTinyModel tiny)
    {
        this.tiny = tiny;
        foreach (var name in Names)
        {
            var adapter = LoraAdapter.Load(Fixtures.Path("loras", name + ".safetensors"), tiny.Model.Targets, tiny.Model.Device, tiny.Model.DType);
            adapters.Add(adapter);
            tiny.Model.Adapters.Attach(name, adapter);
        }

        shared = tiny.Model.UNet.AdaptableLayers.Values.First(l => l.Adapters.AttachedIds.Count == Names.Length);
    }

    public void Dispose()
    {
        tiny.Model.Adapters.PreparedSetCapacity = LowRankAdapters.DefaultPreparedSetCapacity;
        foreach (var name in Names) tiny.Model.Adapters.Detach(name);
        foreach (var a in adapters) a.Dispose();
    }

    private Tensor Forward(AdapterActivation activation, long batch = 2)
    {
        tiny.Model.Adapters.Activate(LoraComponent.Unet, activation);
        try
        {
            using var scope = TensorScope.Enter();
            using var g = new Generator(5);
            var x = Torch.Torch.Randn([batch, 4, 16, 16], g);
            var text = Torch.Torch.Randn([batch, 77, 32], g);
            using var t = Torch.Torch.Scalar(500.0);
            return scope.MoveToOuter(tiny.Model.UNet.Forward(x, t, text));
        }
        finally
        {
            tiny.Model.Adapters.Deactivate(LoraComponent.Unet);
        }
    }

    [Fact]
    public void An_unprepared_set_is_one_term_per_adapter_and_equals_the_prepared_set_named_in_any_order()
    {
        using var plain = AdapterActivation.Uniform(Names, [0.8, 0.5, 1.1]);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, plain);
        Assert.Equal(3, shared.Adapters.ActiveTerms);
        using var unprepared = Forward(plain);
        Assert.Equal(0, shared.Adapters.PreparedSets);

        tiny.Model.Adapters.Prepare(LoraComponent.Unet, [Names[2], Names[0], Names[1]]);
        Assert.Equal(1, shared.Adapters.PreparedSets);
        using var reordered = AdapterActivation.Uniform([Names[1], Names[2], Names[0]], [0.5, 1.1, 0.8]);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, reordered);
        Assert.Equal(1, shared.Adapters.ActiveTerms);
        using var prepared = Forward(reordered);
        Assert.Equal(1, shared.Adapters.PreparedSets);

        using var empty = AdapterActivation.Uniform([], []);
        using var none = Forward(empty);
        Assert.True(TensorAssert.RelativeL2(unprepared, none) > 1e-3, "the adapters had no effect");
        TensorAssert.Close(prepared, unprepared, 1e-5, "UNet output");
    }

    [Fact]
    public void A_segmented_set_gives_the_same_rows_prepared_or_not()
    {
        int[] rows = [0, 1, 2, 0, 1, 2];
        using var segmented = AdapterActivation.Segmented(Names, [0.8, 0.8, 0.8], rows);
        using var unprepared = Forward(segmented, rows.Length);
        tiny.Model.Adapters.Prepare(LoraComponent.Unet, Names);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, segmented);
        Assert.Equal(1, shared.Adapters.ActiveTerms);
        using var prepared = Forward(segmented, rows.Length);
        TensorAssert.Close(prepared, unprepared, 1e-5, "UNet output");

        // Row 0 of the segmented batch is adapter 0 alone.
        using var alone = AdapterActivation.Uniform([Names[0]], [0.8]);
        using var single = Forward(alone, rows.Length);
        TensorAssert.Close(prepared.Select(0, 0), single.Select(0, 0), 1e-5, "UNet output");
    }

    [Fact]
    public void The_cache_keeps_at_most_its_capacity_and_never_frees_the_set_in_use()
    {
        tiny.Model.Adapters.PreparedSetCapacity = 1;
        tiny.Model.Adapters.Prepare(LoraComponent.Unet, [Names[0], Names[1]]);
        tiny.Model.Adapters.Prepare(LoraComponent.Unet, [Names[0], Names[2]]);
        Assert.Equal(1, shared.Adapters.PreparedSets);
        using var first = AdapterActivation.Uniform([Names[0], Names[1]], [1, 1]);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, first);
        Assert.Equal(2, shared.Adapters.ActiveTerms); // freed: back to one term per adapter

        using var second = AdapterActivation.Uniform([Names[2], Names[0]], [1, 1]);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, second);
        Assert.Equal(1, shared.Adapters.ActiveTerms);
        tiny.Model.Adapters.PreparedSetCapacity = 0;
        Assert.Equal(1, shared.Adapters.PreparedSets); // in use
        using var stillUsable = Forward(second);
        tiny.Model.Adapters.PreparedSetCapacity = 0; // not in use any more
        Assert.Equal(0, shared.Adapters.PreparedSets);
    }

    [Fact]
    public void Detaching_a_member_frees_its_prepared_sets_and_fusing_an_unprepared_set_equals_unmerged()
    {
        using var activation = AdapterActivation.Uniform(Names, [0.7, 0.9, 0.6]);
        using var unmerged = Forward(activation);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, activation);
        tiny.Model.Adapters.Fuse(LoraComponent.Unet);
        using var fused = Forward(activation);
        tiny.Model.Adapters.Unfuse(LoraComponent.Unet);
        TensorAssert.Close(fused, unmerged, 1e-5, "UNet output");

        tiny.Model.Adapters.Prepare(LoraComponent.Unet, Names);
        Assert.Equal(1, shared.Adapters.PreparedSets);
        tiny.Model.Adapters.Detach(Names[2]);
        Assert.Equal(0, shared.Adapters.PreparedSets);
        tiny.Model.Adapters.Attach(Names[2], adapters[2]);
        Assert.Throws<InvalidOperationException>(() => tiny.Model.Adapters.Prepare(LoraComponent.Unet, ["not-attached"]));
    }
}
