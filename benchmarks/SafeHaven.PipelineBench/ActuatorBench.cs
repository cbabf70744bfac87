using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>
/// Host agent commands/s: in-process (the gate, the checks, real moves), then end to end through the real agent
/// service (AddSafeHavenHostActuator, what `safehaven actuate` and `up` run) on the embedded broker: a backlog of
/// signed commands on the commands topic, each answered by one sealed result after a real move.
/// Needs root, the cgroup v1 cpuset hierarchy and two CPUs (the highest is the isolation pool).
/// </summary>
internal static class ActuatorBench
{
    public static async Task RunAsync(int commands, int processes, CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess || OnlineCpus.Read().Cpus.Count < 2)
        {
            throw new InvalidOperationException("the actuator bench moves real processes: it needs root and at least 2 CPUs");
        }
        using var work = new ActuatorCommands(processes);
        var stateDir = Path.Combine(Path.GetTempPath(), "safehaven-actuator-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            Console.WriteLine($"{processes} sleep processes (pids {string.Join(", ", work.Pids)}), pool CPU {work.Pool}, journal under {stateDir}");
            ActuatorGateBench.Run(work, commands, stateDir);
            await EndToEndAsync(work, commands, Path.Combine(stateDir, "e2e"), ct);
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    private static async Task EndToEndAsync(ActuatorCommands work, int n, string stateDir, CancellationToken ct)
    {
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", Partitions = Bench.Partitions };
        using var broker = await Bench.StartBrokerAsync(new TopicNames(options.TopicPrefix));
        options.BootstrapServers = broker.BootstrapServers;
        // The agent's role keys as `up` holds them: it seals its capability record and every result.
        using var kafka = new KafkaClients(options) { Seals = RoleSeals.Ephemeral("dc1/bench", ActuatorCommands.Id) };
        var cgroup = "safehaven-bench-e2e-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var agentOptions = new HostActuatorOptions { Id = ActuatorCommands.Id, IsolationCpus = work.Pool, CgroupName = cgroup, StateDirectory = stateDir };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(kafka);
        builder.Services.AddSafeHavenHostActuator(agentOptions, new ActuatorIdentity("dc1", "bench"), work.Verifier);
        using var host = builder.Build();
        try
        {
            // As `up` does: the workloads get their own cpusets before any command, so a move is a cpuset.cpus rewrite.
            var agent = host.Services.GetRequiredService<HostActuator>();
            foreach (var pid in work.Pids)
            {
                ActuatorGateBench.Require(agent.Enrol(pid).Succeeded, $"pid {pid} not enrolled");
            }
            await host.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var results = new ResultReader();
            var reader = Task.Factory.StartNew(() => results.Read(kafka, stop.Token), TaskCreationOptions.LongRunning);
            var planner = kafka.Producer("bench-planner");
            planner.LingerMs = 5;
            using var producer = new ProducerBuilder<string, byte[]>(planner).Build();
            var serializer = kafka.Serdes.Serializer<IsolationCommand>();
            void Send(IEnumerable<IsolationCommand> batch)
            {
                // Keyed by the agent's id, unsealed but signed, as the planner sends them.
                foreach (var c in batch)
                {
                    ConsumeLoop.Produce(producer, serializer, kafka.Topics.Commands, c.source, c);
                }
                producer.Flush(TimeSpan.FromSeconds(30));
            }

            var warm = 4 * work.Pids.Count;
            var t = Stopwatch.GetTimestamp();
            Send(Enumerable.Range(0, warm).Select(k => work.Command("w", k)));
            await results.WaitAsync("c-w-", warm, 60, ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"e2e warm-up: {warm} commands answered after {Bench.Ms(Stopwatch.GetTimestamp() - t):F0} ms"));

            var batch = Enumerable.Range(0, n).Select(k => work.Command("m", k)).ToList();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            results.MarkStart();
            Send(batch);
            await results.WaitAsync("c-m-", n, 15, ct);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            await stop.CancelAsync();
            await reader;
            results.Report(n, cpu);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            CpusetDetector.Detect(cgroup).Cleanup();
        }
    }
}
