using System.CommandLine;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Topics;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven topics</c>: create or check every SafeHaven topic on a real cluster.</summary>
internal static class TopicsCommand
{
    public static Command Create()
    {
        var bootstrap = CommonOptions.Bootstrap();
        var partitions = CommonOptions.Partitions();
        var prefix = CommonOptions.Prefix();
        var security = new SecurityFlags();
        var command = new Command("topics", "Create missing SafeHaven topics (and the detector's internal topics) through the AdminClient; check existing ones")
        {
            bootstrap, partitions, prefix,
        };
        security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = parse.GetValue(bootstrap) ?? throw new UsageException("topics needs --bootstrap (the embedded broker creates its own topics)");
            var topics = BrokerSession.AllTopics(new TopicNames(parse.GetValue(prefix)!), parse.GetValue(partitions), new DetectorOptions().ApplicationId);
            var created = await new AdminTopicProvisioner(BrokerSession.AdminConfig(server, security.Read(parse))).EnsureAsync(topics, ct).ConfigureAwait(false);
            foreach (var t in topics)
            {
                Console.Out.WriteLine($"{t.Name}\t{t.Partitions}\t{(t.Compacted ? "compact" : "delete")}\t{(created.Contains(t.Name) ? "created" : "exists")}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
