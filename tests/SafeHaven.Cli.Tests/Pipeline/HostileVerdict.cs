using System.Text;
using SafeHaven.Core;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using static SafeHaven.Cli.Tests.Pipeline.HostileInputTests;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>The verdict on a hostile run: dead letters against what was written, and the commands the planner issued.</summary>
internal static class HostileVerdict
{
    /// <summary>Asserts the run's outcome; returns its figures (per topic, per category, and the dead letters of records not written here).</summary>
    public static string Check(List<Written> written, Dictionary<(string, int, long), List<DeadLetter>> letters, string bootstrap, TopicNames topics,
        string agentId, int benign)
    {
        var mine = written.Select(w => w.At).ToHashSet();
        var problems = new List<string>();
        // The SIEM projector reads detections and results too and dead-letters what it refuses on its own (docs/SIEM.md):
        // at most one letter of its own per record, never for an accepted one; the verdict below is on the other roles.
        var siem = letters.Select(l => (l.Key, Count: l.Value.Count(d => d.consumer == "siem"))).Where(l => l.Count > 0).ToDictionary(l => l.Key, l => l.Count);
        problems.AddRange(siem.Where(l => l.Value > 1).Select(l => $"{l.Value} siem dead letters at {l.Key}"));
        problems.AddRange(written.Where(w => w.Record.Expect == Expect.Accepted && siem.ContainsKey(w.At))
            .Select(w => $"authentic record dead-lettered by siem: {w.Record.Topic} '{w.Record.Category}'"));
        letters = letters.Select(l => (l.Key, Others: l.Value.Where(d => d.consumer != "siem").ToList())).Where(l => l.Others.Count > 0)
            .ToDictionary(l => l.Key, l => l.Others);
        var figures = new StringBuilder("topic: tried, dead-lettered, accepted (authentic, idempotent or harmless), lost\n");
        foreach (var g in written.GroupBy(w => w.Record.Topic))
        {
            var dead = g.Where(w => letters.ContainsKey(w.At)).ToList();
            var missing = g.Where(w => w.Record.Expect == Expect.DeadLetter && !letters.ContainsKey(w.At)).ToList();
            var unexpected = g.Where(w => w.Record.Expect == Expect.Accepted && letters.ContainsKey(w.At)).ToList();
            var twice = g.Where(w => letters.TryGetValue(w.At, out var l) && l.Count > 1).ToList();
            problems.AddRange(missing.GroupBy(w => w.Record.Category).Select(m => $"no dead letter: {g.Key} '{m.Key}': {m.Count()} records, e.g. at {m.First().Partition}@{m.First().Offset}"));
            problems.AddRange(unexpected.Select(w => $"authentic record dead-lettered: {w.Record.Topic} '{w.Record.Category}': {letters[w.At][0].reason}"));
            problems.AddRange(twice.Select(w => $"{letters[w.At].Count} dead letters: {w.Record.Topic} '{w.Record.Category}' at {w.Partition}@{w.Offset}"));
            figures.AppendLine($"{g.Key}: {g.Count()}, {dead.Count}, {g.Count() - dead.Count}, {missing.Count + unexpected.Count}");
        }
        figures.AppendLine("by category (tried / dead-lettered; first reason):");
        foreach (var c in written.GroupBy(w => (w.Record.Topic, w.Record.Category)))
        {
            var first = c.Select(w => letters.GetValueOrDefault(w.At)?[0].reason).FirstOrDefault(r => r is not null);
            figures.AppendLine($"  {c.Key.Topic} | {c.Key.Category}: {c.Count()} / {c.Count(w => letters.ContainsKey(w.At))}; {Head(first)}");
        }
        // Dead letters of records this writer did not write: what the roles refused of each other's output because of it.
        figures.AppendLine("dead letters of records written by the roles themselves:");
        foreach (var d in letters.Where(l => !mine.Contains(l.Key)).SelectMany(l => l.Value).GroupBy(l => $"{l.topic}: {Head(l.reason)}"))
        {
            figures.AppendLine($"  {d.Count()} × {d.Key}");
        }

        // The planner's commands: none for pid 1, the benign process, a forged detection, a forged actuator or a process outside the inventory.
        var commands = RawTopics.ReadAll(bootstrap, topics.Commands, TimeSpan.FromSeconds(60)).Where(r => !mine.Contains(r.At))
            .Select(r => Decode<IsolationCommand>(r.Value)!).ToList();
        var inventory = RawTopics.ReadAll(bootstrap, topics.Inventory, TimeSpan.FromSeconds(60)).Where(r => !mine.Contains(r.At))
            .Select(r => Decode<EntityState>(r.Value)).Where(e => e?.entity.pid is not null).Select(e => e!.entity.pid!.Value).ToHashSet();
        var hostileDetections = written
            .Where(w => w.Record.Topic == topics.Detections && (w.Record.Expect == Expect.DeadLetter || w.Record.Category.StartsWith("sealed:", StringComparison.Ordinal)))
            .Select(w => Decode<Detection>(w.Record.Value)?.detectionId).OfType<string>().ToHashSet();
        foreach (var c in commands)
        {
            var what = $"command {c.commandId} ({c.action} pid {c.entity.pid} from {c.source}, detection {c.detectionId})";
            problems.AddRange(new[]
            {
                c.entity.pid == 1 ? "pid 1" : null,
                c.entity.pid == benign ? "the benign process" : null,
                c.detectionId is { } d && hostileDetections.Contains(d) ? "a hostile detection" : null,
                c.source != agentId ? "an actuator other than the genuine one" : null,
                c.action == Actions.Isolate && c.entity.pid is { } pid && !inventory.Contains(pid) ? "a process outside the inventory" : null,
            }.OfType<string>().Select(p => $"{what} targets {p}"));
        }
        figures.AppendLine($"planner commands: {commands.Count} ({commands.Count(c => c.action == Actions.Isolate)} isolate)");
        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join('\n', problems.Take(40))}\n{figures}");
        return figures.ToString();
    }

    private static string Head(string? reason) => reason is null ? "-" : reason.Length <= 110 ? reason : reason[..110] + "…";
}
