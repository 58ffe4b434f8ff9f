using System.Globalization;
using LoraGrains.Cluster.Http;
using LoraGrains.Diffusion.Schedulers;
using Microsoft.AspNetCore.Http;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// The silo-to-silo <c>POST /internal/v1/denoise</c>: one UNet evaluation with one adapter active. On the wire the
/// adapter and its scale are headers and the body is the three tensors as <see cref="TensorFrames"/>.
/// </summary>
/// <param name="AdapterHash">The adapter (content hash), loaded from the shared data directory if not resident.</param>
/// <param name="Scale">Its effective scale.</param>
/// <param name="Latents">The scaled model input of one guidance branch (batch B).</param>
/// <param name="Timestep">The timestep, a scalar tensor.</param>
/// <param name="TextStates">The text encoder states of the branches (batch branches·B); the latents are evaluated once per branch.</param>
public sealed record DenoiseRequest(string AdapterHash, double Scale, StateTensor Latents, StateTensor Timestep, StateTensor TextStates)
{
    /// <summary>The header naming the adapter.</summary>
    public const string AdapterHeader = "X-LoraGrains-Adapter";

    /// <summary>The header carrying the adapter's scale (invariant culture, round-trip format).</summary>
    public const string ScaleHeader = "X-LoraGrains-Scale";

    /// <summary>
    /// The HTTP request for a pass of <paramref name="adapterHash"/> to the silo at <paramref name="peerAddress"/>, whose
    /// body is <paramref name="framedTensors"/> (latents, timestep, text states as <see cref="TensorFrames"/>; not copied).
    /// </summary>
    public static HttpRequestMessage ToHttp(string peerAddress, string adapterHash, double scale, byte[] framedTensors)
    {
        var request = Runtime.PeerAddress.Request(HttpMethod.Post, peerAddress, "internal/v1/denoise");
        request.Headers.Add(AdapterHeader, adapterHash);
        request.Headers.Add(ScaleHeader, scale.ToString("R", CultureInfo.InvariantCulture));
        request.Content = new ByteArrayContent(framedTensors);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(TensorFrames.ContentType);
        return request;
    }

    /// <summary>Reads a pass from an incoming request: 400 naming what is malformed, 413 past <paramref name="limit"/> bytes.</summary>
    public static async Task<DenoiseRequest> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var adapter = request.Headers[AdapterHeader].ToString();
        if (adapter.Length == 0) throw new HttpApiException(400, $"the {AdapterHeader} header is required", AdapterHeader);
        if (!double.TryParse(request.Headers[ScaleHeader].ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var scale))
            throw new HttpApiException(400, $"the {ScaleHeader} header must be a number", ScaleHeader);
        var body = await RequestBody.ReadAsync(request, limit, TensorFrames.ContentType, cancellationToken).ConfigureAwait(false);
        StateTensor[] tensors;
        try
        {
            tensors = TensorFrames.Decode(body, 3);
        }
        catch (FormatException e)
        {
            throw new HttpApiException(400, $"the body must be three tensor frames (latents, timestep, text states): {e.Message}", "body");
        }

        return new DenoiseRequest(adapter, scale, tensors[0], tensors[1], tensors[2]);
    }
}
