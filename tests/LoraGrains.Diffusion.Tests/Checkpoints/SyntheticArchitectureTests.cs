using LoraGrains.Diffusion.Checkpoints;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

/// <summary>
/// Architectures other than the fixture's: a zero-filled LDM file laid out by the key maps must be read
/// back (without a yaml) as the same architecture with nothing unmatched or missing.
/// </summary>
public sealed class SyntheticArchitectureTests
{
    public static TheoryData<int[], int, bool[], int, bool> Architectures => new()
    {
        { [1, 2, 2], 1, [false, true, true], 2, true },
        { [1, 1, 2, 3], 3, [true, false, true, false], 1, false },
        { [1], 2, [true], 1, false },
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ZeroFileFromTheKeyMaps_IsInferredBackExactly(int[] mult, int blocks, bool[] attention, int depth, bool linear)
    {
        var unet = new UNetArchitecture
        {
            InChannels = 9, OutChannels = 4, ModelChannels = 32, ChannelMult = mult, LayersPerBlock = blocks,
            AttentionLevels = attention, TransformerDepth = depth, ContextDim = 64, NumHeads = 8, UseLinearProjection = linear,
        };
        var vae = new VaeArchitecture
        {
            InChannels = 3, OutChannels = 3, BaseChannels = 32, ChannelMult = [1, 2, 2], LayersPerBlock = blocks, LatentChannels = 4,
        };
        var text = new TextEncoderArchitecture
        {
            HiddenSize = 64, NumLayers = 2, NumHeads = 1, IntermediateSize = 100, VocabSize = 10, MaxPositions = 77,
        };
        var rows = UNetKeyMap.Create(unet).Concat(VaeKeyMap.Create(vae)).Concat(TextEncoderKeyMap.Create(text)).ToList();

        using var temp = new TempDirectory();
        var path = temp.File("synthetic.safetensors");
        SafetensorsHeaderEdit.WriteZeros(path, rows.Select(r => (r.SourceName, r.Shape)).ToArray());
        using var checkpoint = StableDiffusionCheckpoint.Open(path);

        Assert.True(checkpoint.Report.IsComplete, checkpoint.Report.ToString());
        JsonAssert.SameFields(unet.ToDiffusersConfig(), checkpoint.UNet.Config, "unet");
        JsonAssert.SameFields(vae.ToDiffusersConfig(), checkpoint.Vae.Config, "vae");
        // hidden 64 → one 64-wide CLIP head: the hidden/64 rule.
        JsonAssert.SameFields(text.ToTransformersConfig(), checkpoint.TextEncoder.Config, "text_encoder");
        Assert.Equal(rows.Count, checkpoint.Components.Sum(c => c.Weights.Count));
    }
}
