using System.Text.Json.Nodes;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>The scheduler config single-file checkpoints get, since they carry none: SD-1.5's PNDM config.</summary>
public static class DefaultSchedulerConfig
{
    /// <summary>SD-1.5's <c>scheduler_config.json</c> (PNDMScheduler), with the training schedule values given.</summary>
    /// <param name="betaStart">LDM <c>linear_start</c> (SD: 0.00085).</param>
    /// <param name="betaEnd">LDM <c>linear_end</c> (SD: 0.012).</param>
    /// <param name="trainTimesteps">LDM <c>timesteps</c> (1000).</param>
    /// <param name="betaSchedule">diffusers name of the beta schedule (LDM's "linear" is diffusers' "scaled_linear").</param>
    /// <param name="predictionType">"epsilon", "v_prediction" or "sample".</param>
    public static JsonObject Pndm(double betaStart = 0.00085, double betaEnd = 0.012, int trainTimesteps = 1000,
        string betaSchedule = "scaled_linear", string predictionType = "epsilon") => new()
    {
        ["_class_name"] = "PNDMScheduler",
        ["beta_end"] = betaEnd,
        ["beta_schedule"] = betaSchedule,
        ["beta_start"] = betaStart,
        ["clip_sample"] = false,
        ["num_train_timesteps"] = trainTimesteps,
        ["prediction_type"] = predictionType,
        ["set_alpha_to_one"] = false,
        ["skip_prk_steps"] = true,
        ["steps_offset"] = 1,
        ["trained_betas"] = null,
    };
}
