using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Storage;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// This silo's recent view of the live silos, re-read from the membership table at most once per
/// <see cref="Freshness"/>, so placing a request costs no database round trip on the hot path.
/// </summary>
public sealed class ClusterView(ClusterStore store, IOptions<SiloOptions> options, TimeProvider clock) : IDisposable
{
    /// <summary>How long a read of the membership table is reused.</summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IReadOnlyList<SiloRecord> _silos = [];
    private long _readAt = long.MinValue;

    /// <summary>Silos that are active (not draining) and heartbeating, as of at most <see cref="Freshness"/> ago.</summary>
    public async ValueTask<IReadOnlyList<SiloRecord>> ActiveAsync(CancellationToken cancellationToken)
    {
        if (!IsFresh())
        {
            await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!IsFresh())
                {
                    var live = await store.Membership.ListLiveAsync(options.Value.DeadAfter, cancellationToken).ConfigureAwait(false);
                    _silos = [.. live.Where(s => s.Status == SiloStatus.Active)];
                    _readAt = clock.GetTimestamp();
                }
            }
            finally
            {
                _refresh.Release();
            }
        }

        return _silos;
    }

    /// <summary>Forgets the view (a peer could not be reached): the next call reads the table.</summary>
    public void Invalidate() => _readAt = long.MinValue;

    /// <inheritdoc />
    public void Dispose() => _refresh.Dispose();

    private bool IsFresh() => _readAt != long.MinValue && clock.GetElapsedTime(_readAt) < Freshness;
}
