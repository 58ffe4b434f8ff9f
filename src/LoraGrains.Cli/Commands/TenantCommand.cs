using System.Text;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;

namespace LoraGrains.Cli.Commands;

/// <summary><c>lora-grains tenant create</c>: a tenant and its first API key (printed once; stored hashed).</summary>
internal static class TenantCommand
{
    private const string Help = """
        usage: lora-grains tenant create --name NAME [--id ID] [--weight W] [--max-running N] [--max-queued N] (--postgres CONN | --data DIR)
               lora-grains tenant key --id ID (--postgres CONN | --data DIR)

          create   creates the tenant and prints its API key on standard output (shown only this once)
          key      issues another API key for an existing tenant
          --weight W         fair-share weight (default 1)
          --max-running N    jobs of the tenant running at once (default 64)
          --max-queued N     jobs of the tenant waiting at once (default 10000)
        """;

    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        if (argv.Length == 0 || argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help);
            return argv.Length == 0 ? 2 : 0;
        }

        var verb = argv[0];
        var args = new Arguments(argv[1..], new HashSet<string>());
        var (provider, connection, data) = ClusterArguments.Database(args);
        var storeOptions = new ClusterStoreOptions { Provider = provider, ConnectionString = connection, DataDirectory = data };
        switch (verb)
        {
            case "create":
            {
                var name = args.String("name") ?? throw new UsageException("--name is required");
                var id = args.String("id") ?? Slug(name);
                var tenant = new Tenant(id, name, args.Int("weight") ?? 1, args.Int("max-running") ?? 64, args.Int("max-queued") ?? 10_000);
                args.RejectUnknown();
                Directory.CreateDirectory(data);
                await using var store = await ClusterStore.OpenAsync(storeOptions, cancellationToken: cancellationToken);
                try
                {
                    await store.Tenants.CreateTenantAsync(tenant, cancellationToken);
                }
                catch (AlreadyExistsException)
                {
                    throw new UsageException($"tenant '{id}' already exists (use 'tenant key --id {id}' for another key)");
                }

                var key = await store.Tenants.CreateApiKeyAsync(id, cancellationToken);
                Console.Error.WriteLine($"tenant {id} (weight {tenant.Weight}) created; its API key follows, shown only this once:");
                Console.WriteLine(key.Secret);
                return 0;
            }

            case "key":
            {
                var id = args.String("id") ?? throw new UsageException("--id is required");
                args.RejectUnknown();
                await using var store = await ClusterStore.OpenAsync(storeOptions, cancellationToken: cancellationToken);
                var key = await store.Tenants.CreateApiKeyAsync(id, cancellationToken);
                Console.WriteLine(key.Secret);
                return 0;
            }

            default:
                throw new UsageException($"unknown tenant command '{verb}'\n\n{Help}");
        }
    }

    private static string Slug(string name)
    {
        var slug = new StringBuilder();
        foreach (var c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c)) slug.Append(c);
            else if (slug.Length > 0 && slug[^1] != '-') slug.Append('-');
        }

        var text = slug.ToString().Trim('-');
        return text.Length is > 0 and <= 64 ? text : $"t-{Guid.NewGuid():N}"[..14];
    }
}
