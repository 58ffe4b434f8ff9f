using System.Data.Common;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Membership;

/// <summary>
/// Cluster membership kept in the database: silos register, heartbeat (publishing their resident adapters
/// for placement), drain and leave. A silo whose heartbeat is older than the caller's timeout is dead to
/// everybody, whatever its status says; its leases expire on their own, so no one has to declare it dead
/// before its work is taken over.
/// </summary>
public sealed class MembershipTable
{
    /// <summary>Most adapter hashes a heartbeat may publish.</summary>
    public const int MaxResidentAdapters = 4096;

    private const string Columns = "id, address, status, started_at, heartbeat_at, resident_adapters";

    private readonly IClusterDatabase _database;
    private readonly TimeProvider _clock;

    internal MembershipTable(IClusterDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
    }

    /// <summary>Registers (or re-registers) a silo as active, with a fresh heartbeat and no resident adapters.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="address">Where peers reach it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task RegisterAsync(string siloId, string address, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        StorageKeys.Text(address, nameof(address), 1024);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"""
            INSERT INTO silos ({Columns}) VALUES (@id, @address, 'active', @now, @now, @residents)
            ON CONFLICT (id) DO UPDATE SET address = excluded.address, status = 'active', started_at = excluded.started_at,
                heartbeat_at = excluded.heartbeat_at, resident_adapters = excluded.resident_adapters
            """);
        command.AddParameter("id", siloId).AddParameter("address", address).AddParameter("now", now);
        _database.AddJsonParameter(command, "residents", "[]");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records that the silo is alive, and which adapters it holds.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="residentAdapters">Content hashes of resident adapters.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="InvalidOperationException">The silo is not registered, or has left: it must register again.</exception>
    public async Task HeartbeatAsync(string siloId, IReadOnlyCollection<string> residentAdapters, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        ArgumentNullException.ThrowIfNull(residentAdapters);
        if (residentAdapters.Count > MaxResidentAdapters)
        {
            throw new ArgumentException($"residentAdapters may list at most {MaxResidentAdapters} hashes (got {residentAdapters.Count}).", nameof(residentAdapters));
        }

        foreach (var hash in residentAdapters)
        {
            StorageKeys.ContentHash(hash, nameof(residentAdapters));
        }

        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null,
            "UPDATE silos SET heartbeat_at = @now, resident_adapters = @residents WHERE id = @id AND status <> 'left'");
        command.AddParameter("id", siloId).AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        _database.AddJsonParameter(command, "residents", JsonInput.StringArray([.. residentAdapters]));
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new InvalidOperationException($"Silo '{siloId}' is not registered (or has left); register it before heartbeating.");
        }
    }

    /// <summary>Marks the silo as draining: still alive, but it should be given no new work.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task BeginDrainAsync(string siloId, CancellationToken cancellationToken = default) =>
        SetStatusAsync(siloId, "draining", cancellationToken);

    /// <summary>Marks the silo as gone: the last step of a drain, after its work is finished or released.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task LeaveAsync(string siloId, CancellationToken cancellationToken = default) =>
        SetStatusAsync(siloId, "left", cancellationToken);

    /// <summary>Silos that have not left and whose last heartbeat is within <paramref name="deadAfter"/>, by id.</summary>
    /// <param name="deadAfter">Heartbeat age after which a silo is considered dead (several heartbeat periods).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<SiloRecord>> ListLiveAsync(TimeSpan deadAfter, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(deadAfter, TimeSpan.Zero);
        var oldest = (_clock.GetUtcNow() - deadAfter).ToUnixTimeMilliseconds();
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null,
            $"SELECT {Columns} FROM silos WHERE status <> 'left' AND heartbeat_at >= @oldest ORDER BY id");
        command.AddParameter("oldest", oldest);
        return await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one silo's row whatever its state, or <see langword="null"/>.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<SiloRecord?> GetAsync(string siloId, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM silos WHERE id = @id");
        command.AddParameter("id", siloId);
        var found = await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    private async Task SetStatusAsync(string siloId, string status, CancellationToken cancellationToken)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, "UPDATE silos SET status = @status, heartbeat_at = @now WHERE id = @id");
        command.AddParameter("id", siloId).AddParameter("status", status).AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new InvalidOperationException($"Silo '{siloId}' is not registered.");
        }
    }

    private static async Task<List<SiloRecord>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var silos = new List<SiloRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            silos.Add(new SiloRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2) switch
                {
                    "active" => SiloStatus.Active,
                    "draining" => SiloStatus.Draining,
                    _ => SiloStatus.Left,
                },
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                JsonInput.ParseStringArray(reader.GetString(5))));
        }

        return silos;
    }
}
