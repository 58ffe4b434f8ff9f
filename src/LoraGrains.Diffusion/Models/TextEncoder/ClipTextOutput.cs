using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>The outputs of one <see cref="ClipTextModel.Forward"/> call; owns its tensors.</summary>
public sealed class ClipTextOutput : IDisposable
{
    /// <summary>Takes ownership of the tensors.</summary>
    public ClipTextOutput(Tensor lastHiddenState, Tensor penultimateHiddenState, Tensor pooledOutput)
    {
        LastHiddenState = lastHiddenState;
        PenultimateHiddenState = penultimateHiddenState;
        PooledOutput = pooledOutput;
    }

    /// <summary>final_layer_norm(output of the last layer) [B, S, hidden]: SD-1.5's prompt embedding.</summary>
    public Tensor LastHiddenState { get; }

    /// <summary>transformers' <c>hidden_states[-2]</c> [B, S, hidden]: the second-to-last layer's output, without final_layer_norm.</summary>
    public Tensor PenultimateHiddenState { get; }

    /// <summary>transformers' <c>pooler_output</c> [B, hidden]: the row of <see cref="LastHiddenState"/> at the end-of-text token.</summary>
    public Tensor PooledOutput { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        LastHiddenState.Dispose();
        PenultimateHiddenState.Dispose();
        PooledOutput.Dispose();
    }
}
