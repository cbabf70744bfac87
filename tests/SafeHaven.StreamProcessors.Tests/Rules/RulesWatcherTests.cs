using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.StreamProcessors.Rules;

namespace SafeHaven.StreamProcessors.Tests.Rules;

/// <summary>The watcher: debounce on a fake clock, and end to end on a real temp file.</summary>
public sealed class RulesWatcherTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("safehaven-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Events_within_the_debounce_time_cause_one_reload_after_it()
    {
        var path = Write("rules.yaml", RulesReloaderTests.Yaml("new"));
        var engine = new DetectorEngine(RulesParser.Parse(RulesReloaderTests.Yaml("old"), "x"));
        var clock = new FakeTimeProvider();
        using var watcher = new RulesWatcher(engine, path, clock, NullLogger<RulesWatcher>.Instance, TimeSpan.FromMilliseconds(200));

        watcher.Poke();
        clock.Advance(TimeSpan.FromMilliseconds(150));
        watcher.Poke();
        clock.Advance(TimeSpan.FromMilliseconds(150));
        watcher.Poke();
        clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, watcher.Attempts);
        Assert.Equal("old", Assert.Single(engine.Rules.Rules).Name);

        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(1, watcher.Attempts);
        Assert.Equal("new", Assert.Single(engine.Rules.Rules).Name);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, watcher.Attempts);
    }

    [Fact]
    public async Task Reloads_a_valid_file_keeps_the_rules_for_an_invalid_one_and_follows_rename_saves()
    {
        var path = Write("rules.yaml", RulesReloaderTests.Yaml("initial"));
        var engine = new DetectorEngine(RulesParser.Load(path));
        using var watcher = new RulesWatcher(engine, path, TimeProvider.System, NullLogger<RulesWatcher>.Instance, TimeSpan.FromMilliseconds(50));
        watcher.Start();

        File.WriteAllText(path, RulesReloaderTests.Yaml("edited", "second"));
        Assert.True(await Poll.Until(() => engine.Rules.Rules.Count == 2, Deadline), "valid edit not applied");
        Assert.Equal(["edited", "second"], engine.Rules.Rules.Select(r => r.Name));
        var valid = engine.Rules;

        File.WriteAllText(path, RulesReloaderTests.Yaml("broken").Replace("scope: core", "scope: galaxy", StringComparison.Ordinal));
        Assert.True(await Poll.Until(() => watcher.LastOutcome is { Applied: false }, Deadline), "invalid edit not reported");
        Assert.StartsWith(path + ":5: unknown scope 'galaxy'", watcher.LastOutcome!.Problem, StringComparison.Ordinal);
        Assert.Equal(2, watcher.LastOutcome.RuleCount);
        Assert.Same(valid, engine.Rules);

        // Editors that save atomically write a temporary file and rename it over the original.
        var temp = Write(".rules.yaml.tmp", RulesReloaderTests.Yaml("renamed"));
        File.Move(temp, path, overwrite: true);
        Assert.True(await Poll.Until(() => engine.Rules.Rules is [{ Name: "renamed" }], Deadline), "rename-over save not applied");
        Assert.True(watcher.LastOutcome is { Applied: true, Problem: null });
    }
}
