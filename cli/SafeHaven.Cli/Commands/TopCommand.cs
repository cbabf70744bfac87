using System.CommandLine;
using System.Text.Json;
using SafeHaven.Cli.Runtime;
using SafeHaven.Cli.Top;
using SafeHaven.Kafka.Clients;
using Spectre.Console;
using SafeHaven.Core;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven top</c>: a live view of a running deployment, refreshed from its topics (any cluster): hosts and their
/// sampling, hot entities against ε, isolations held, recent commands with phases, dead letters and budget skips.
/// A view only: it acts on nothing, so it reads records without checking their seals (docs/OPERATIONS.md).
/// </summary>
internal static class TopCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var once = new Option<bool>("--once") { Description = "Read the topics up to their current end, print one view and exit" };
        var json = new Option<bool>("--json") { Description = "With --once: print one JSON document (hosts, hot, isolations, commands, counters) instead of tables" };
        var refresh = new Option<string?>("--refresh") { Description = "How often the live view redraws (default 1s)" };
        var command = new Command("top", "Live view of a deployment from its topics: hosts, hot entities, isolations, commands, dead letters; --once --json for scripts")
        {
            once, json, refresh,
        };
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Duration, flags.Prefix })
        {
            command.Options.Add(o);
        }
        flags.Security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = parse.GetValue(flags.Bootstrap) ?? throw new UsageException("top needs --bootstrap");
            if (parse.GetValue(json) && !parse.GetValue(once))
            {
                throw new UsageException("--json needs --once (the live view is for terminals)");
            }
            var every = CommonOptions.ParseDuration(parse.GetValue(refresh), "--refresh") ?? TimeSpan.FromSeconds(1);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            // top creates no topic: the partition count is only there to satisfy the options' validation.
            using var kafka = new KafkaClients(new KafkaOptions
            {
                BootstrapServers = server,
                SchemaRegistryUrl = parse.GetValue(flags.Registry) ?? "",
                TopicPrefix = parse.GetValue(flags.Prefix)!,
                Partitions = 1,
                Security = flags.Security.Read(parse),
            });
            var state = new TopState();
            using var reader = new TopReader(kafka, state);
            reader.Start(TimeSpan.FromSeconds(10));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (stopAfter is { } d)
            {
                stop.CancelAfter(d);
            }
            return parse.GetValue(once)
                ? Once(reader, state, parse.GetValue(json), server, stop.Token)
                : await LiveAsync(reader, state, every, server, stop.Token).ConfigureAwait(false);
        });
        return command;
    }

    private static long NowNs() => TimeProvider.System.NowNs();

    private static int Once(TopReader reader, TopState state, bool json, string cluster, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!reader.CaughtUp && !ct.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            reader.Poll(TimeSpan.FromMilliseconds(100));
        }
        if (!reader.CaughtUp)
        {
            Console.Error.WriteLine("top: warning: the topics were not read to their end within 30 s; the view is partial");
        }
        var snapshot = state.Snapshot(NowNs());
        if (json)
        {
            Console.Out.WriteLine(TopJson.Of(snapshot).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            AnsiConsole.Write(TopRender.View(snapshot, cluster));
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> LiveAsync(TopReader reader, TopState state, TimeSpan every, string cluster, CancellationToken ct)
    {
        // The consumer blocks: it reads on a thread of its own and the view redraws from snapshots.
        var gate = new Lock();
        var readLoop = Task.Factory.StartNew(() =>
        {
            while (!ct.IsCancellationRequested)
            {
                lock (gate)
                {
                    reader.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await AnsiConsole.Live(new Text("reading…")).AutoClear(false).StartAsync(async live =>
        {
            while (!ct.IsCancellationRequested)
            {
                TopSnapshot snapshot;
                lock (gate)
                {
                    snapshot = state.Snapshot(NowNs());
                }
                live.UpdateTarget(TopRender.View(snapshot, cluster));
                live.Refresh();
                try
                {
                    await Task.Delay(every, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }).ConfigureAwait(false);
        try
        {
            await readLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped by Ctrl-C or --duration.
        }
        return ExitCodes.Ok;
    }
}
