using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Cli.Configuration;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven probe</c>: sample this host's processes; publish to Kafka or print JSON lines.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var stdout = new Option<bool>("--stdout") { Description = "Print samples as JSON lines (CounterSample field names) instead of publishing; no broker needed" };
        var pids = new Option<int[]>("--pid") { Description = "Watch only these pids (repeatable); default: every user process", AllowMultipleArgumentsPerToken = true };
        var counters = new Option<string[]>("--counters") { Description = "Counters to read (comma-separated or repeated); default: context-switches,page-faults", AllowMultipleArgumentsPerToken = true };
        var period = new Option<string>("--period") { Description = "Sampling period", DefaultValueFactory = _ => "1s" };
        var rules = CommonOptions.Rules();
        rules.Description = "Rules file: the probe learns each counter's lowest ε and publishes a window early once its count guarantees the period's rate exceeds it (docs/SAMPLES.md); re-read when it changes. Absent: no early publication";
        var fineTick = new Option<string>("--fine-tick") { Description = "With --rules: how often, within a period, the counters rules watch are read for early publication (0 = off)", DefaultValueFactory = _ => "20ms" };
        var duration = CommonOptions.Duration();
        var bootstrap = CommonOptions.Bootstrap();
        var registry = CommonOptions.SchemaRegistry();
        var host = CommonOptions.HostId();
        var dc = CommonOptions.Datacenter();
        var prefix = CommonOptions.Prefix();
        var key = new Option<string?>("--signing-key") { Description = "This host's probe key (file, or a directory: its newest probe key), which seals the inventory, and the samples unless the directory holds this host's MAC key (keys enrol; docs/SECURITY.md)" };
        var security = new SecurityFlags();
        var command = new Command("probe", "Sample per-process event counters (perf_event_open, /proc) of this host")
        {
            stdout, pids, counters, period, rules, fineTick, duration, bootstrap, registry, host, dc, prefix, key,
        };
        security.AddTo(command);
        var telemetry = new TelemetryFlags();
        telemetry.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var config = SafeHavenConfig.Of(parse);
            var options = config.Bind<ProbeOptions>(ProbeOptions.SectionName);
            const string section = ProbeOptions.SectionName;
            config.Flag(parse, dc, $"{section}:Datacenter", v => options.Datacenter = v);
            config.Flag(parse, host, $"{section}:HostId", v => options.HostId = v!);
            config.Flag(parse, period, $"{section}:Period", v => options.Period = CommonOptions.ParseDuration(v, "--period")!.Value);
            config.Flag(parse, counters, $"{section}:Counters", v => options.Counters = [.. v.SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))]);
            config.Flag(parse, pids, $"{section}:Pids", v => options.Pids = [.. v]);
            config.Flag(parse, fineTick, $"{section}:FineTick", v => options.FineTick = v is "0" ? TimeSpan.Zero : CommonOptions.ParseDuration(v, "--fine-tick")!.Value);
            config.Flag(parse, rules, $"{section}:RulesFile", v => options.RulesFile = v!.FullName);
            if (options.RulesFile.Length > 0)
            {
                // Loaded once here so that a bad file is a usage error; the sampler follows later edits itself.
                _ = CommonOptions.LoadRules(new FileInfo(options.RulesFile));
            }
            config.Validate(section, options.Validate);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(duration), "--duration");
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (stopAfter is { } d)
            {
                cts.CancelAfter(d);
            }
            if (parse.GetValue(stdout))
            {
                using var loggers = CliLogging.Factory(LogLevel.Warning);
                using var sink = new JsonLinesSink(Console.OpenStandardOutput());
                using var sampler = new Sampler(options, TimeProvider.System, sink, loggers.CreateLogger<Sampler>());
                await Run(sampler.RunAsync(cts.Token), cts.Token).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            var kafka = config.Bind<KafkaOptions>(KafkaOptions.SectionName);
            config.Flag(parse, bootstrap, "SafeHaven:Kafka:BootstrapServers", v => kafka.BootstrapServers = v!);
            if (kafka.BootstrapServers.Length == 0)
            {
                throw new UsageException("probe needs --bootstrap (or SafeHaven:Kafka:BootstrapServers), or --stdout to print samples");
            }
            config.Flag(parse, registry, "SafeHaven:Kafka:SchemaRegistryUrl", v => kafka.SchemaRegistryUrl = v ?? "");
            config.Flag(parse, prefix, "SafeHaven:Kafka:TopicPrefix", v => kafka.TopicPrefix = v);
            kafka.Security = security.Read(parse, kafka.Security, config);
            config.Validate(KafkaOptions.SectionName, kafka.Validate);
            var seals = parse.GetValue(key) is { } path ? KeyFiles.ProbeSeals(path, SafeHaven.Core.EntityIds.OfHost(options.Datacenter, options.HostId)) : RoleSeals.None;
            using var app = Pipeline.Build(new PipelineSpec(kafka) { Probe = options, Seals = seals, Telemetry = telemetry.Read(parse, "probe") }, LogLevel.Information);
            return await RoleHost.RunAsync(app, stopAfter, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task Run(Task sampling, CancellationToken ct)
    {
        try
        {
            await sampling.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One JSON object per line; flushed per sample so a pipe reader sees it at once.</summary>
    private sealed class JsonLinesSink(Stream stream) : ISampleSink, IDisposable
    {
        private readonly Utf8JsonWriter _writer = new(stream);

        public void Publish(CounterSample sample)
        {
            SampleJson.Write(sample, _writer);
            _writer.Flush();
            _writer.Reset();
            stream.WriteByte((byte)'\n');
            stream.Flush();
        }

        public void Dispose() => _writer.Dispose();
    }
}
