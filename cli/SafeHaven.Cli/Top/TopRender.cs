using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Schemas;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SafeHaven.Cli.Top;

/// <summary>Draws a <see cref="TopSnapshot"/> as Spectre.Console tables.</summary>
internal static class TopRender
{
    /// <summary>The whole view: header, hosts, hot entities, isolations, recent commands, counters.</summary>
    public static IRenderable View(TopSnapshot s, string cluster) => new Rows(
        new Markup($"[bold]SafeHaven top[/]  {Markup.Escape(cluster)}  {Time(s.NowNs)} UTC  records: {Markup.Escape(Records(s))}"),
        Hosts(s), Hot(s), Isolations(s), Commands(s), Counters(s));

    private static Table Hosts(TopSnapshot s)
    {
        var t = Titled("Hosts", "host", "datacenter", "period", "entities", "samples", "last window");
        foreach (var h in s.Hosts.Take(30))
        {
            t.AddRow(Esc(h.Host), Esc(h.Datacenter), $"{h.PeriodNs / 1e6:F0} ms", Num(h.EntitiesLastTick > 0 ? h.EntitiesLastTick : h.EntitiesThisTick),
                Num(h.Samples), Age(s.NowNs, h.LastWindowEndNs));
        }
        Footer(t, s.Hosts.Count, 30, "hosts");
        return t;
    }

    private static Table Hot(TopSnapshot s)
    {
        var t = Titled("Hot entities (detected in the last 2 min)", "entity", "rule", "counter", "rate now", "at detection", "ε", "× ε now", "scope", "detections", "last");
        foreach (var h in s.Hot.Take(30))
        {
            var times = h.Threshold > 0 ? h.LastRate / h.Threshold : 0;
            t.AddRow(Esc(Entity(h.Entity)), Esc(h.Rule), Esc(h.Counter), $"{h.LastRate:N0}/s", $"{h.DetectedRate:N0}/s", $"{h.Threshold:N0}/s",
                times >= 1 ? $"[red]{times:F1}[/]" : $"{times:F1}", Esc(h.Scope), Num(h.Detections), Age(s.NowNs, h.LastDetectedAtNs));
        }
        Footer(t, s.Hot.Count, 30, "hot entities");
        return t;
    }

    private static Table Isolations(TopSnapshot s)
    {
        var perLevel = string.Join(", ", s.Isolations.GroupBy(i => i.level).Select(g => $"{g.Key} {g.Count()}"));
        var waiting = s.Waiting.Count > 0 ? $"; {s.Waiting.Count} detection{(s.Waiting.Count == 1 ? "" : "s")} waiting for room" : "";
        var t = Titled($"Isolations held ({(perLevel.Length > 0 ? perLevel : "none")}{waiting})", "level", "actuator", "pool cpus", "group", "members", "event", "updated");
        foreach (var i in s.Isolations.Take(30))
        {
            var members = string.Join("; ", i.members.Select(m => $"{Entity(m.entity)} {m.status}"));
            t.AddRow(Esc(i.level), Esc(i.actuator), Esc(i.cpus ?? "-"), Esc(i.group ?? "-"), Esc(members), Esc(i.@event), Age(s.NowNs, i.updatedAtNs));
        }
        Footer(t, s.Isolations.Count, 30, "isolations");
        return t;
    }

    private static Table Commands(TopSnapshot s)
    {
        var t = Titled("Recent commands", "issued", "level", "action", "entity", "target", "status", "total", "phases (ms)");
        foreach (var c in s.Commands)
        {
            var status = c.Status switch
            {
                null => "[yellow]pending[/]",
                "succeeded" => "[green]succeeded[/]",
                "skipped" => "[yellow]skipped[/]",
                var other => $"[red]{Esc(other)}[/]",
            };
            var phases = string.Join(" ", c.Phases.Select(p => $"{p.Key} {p.Value.ToString("F1", CultureInfo.InvariantCulture)}"));
            t.AddRow(Age(s.NowNs, c.IssuedAtNs), Esc(c.Level), Esc(c.Action), Esc(Entity(c.Entity)), Esc(c.Target), status,
                c.TotalMs is { } ms ? $"{ms:F1} ms" : "-", Esc(c.Error is null ? phases : $"{phases} {c.Error}"));
        }
        return t;
    }

    private static Markup Counters(TopSnapshot s)
    {
        var dlq = s.DeadLetters.Count == 0 ? "none" : string.Join(", ", s.DeadLetters.OrderByDescending(d => d.Value).Select(d => $"{d.Key}: {d.Value}"));
        return new Markup($"budget/policy skips [yellow]{s.Skipped}[/]   failed or rejected [red]{s.Failed}[/]   dead letters: {Esc(dlq)}");
    }

    /// <summary>An entity as an operator reads it: host, pid and command, container or VM.</summary>
    public static string Entity(EntityRef e) =>
        $"{e.host} " + (e.vm is { } vm ? $"vm {vm}" : e.container is { } c ? $"container {c}" : $"pid {e.pid} {e.comm}").TrimEnd();

    private static Table Titled(string title, params string[] columns)
    {
        var t = new Table { Title = new TableTitle(title), Border = TableBorder.Simple, Expand = false };
        foreach (var c in columns)
        {
            t.AddColumn(new TableColumn(c));
        }
        return t;
    }

    private static void Footer(Table t, int count, int shown, string what)
    {
        if (count > shown)
        {
            t.Caption = new TableTitle($"{shown} of {count} {what}");
        }
    }

    private static string Records(TopSnapshot s) => string.Join(", ", s.Records.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}"));

    private static string Time(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100).ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Age(long nowNs, long atNs) => atNs <= 0 ? "-" : $"{Math.Max(0, nowNs - atNs) / 1e9:F1} s ago";

    private static string Num(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    // Record fields are untrusted text: no control characters (they could redraw the terminal), bounded length.
    private static string Esc(string s) => Markup.Escape(Identifiers.Printable(s, 160));
}
