using System.Globalization;
using System.Runtime.CompilerServices;
using SafeHaven.Core.Rules;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Detector;

/// <summary>
/// Applies rules to samples. Pure and deterministic: output depends only on the samples and the
/// state store, never on a clock, so replaying a trace gives the same detections.
/// </summary>
public sealed class DetectorEngine
{
    private const double NsPerSecond = 1e9;
    // The rule set and its rules as an array, swapped together: the per-sample loop indexes an array, not an interface.
    private volatile Loaded _loaded;
    private readonly long _repeatNs;

    private sealed record Loaded(RuleSet Set, Rule[] Rules)
    {
        public static Loaded Of(RuleSet rules) => new(rules ?? throw new ArgumentNullException(nameof(rules)), [.. rules.Rules]);
    }

    /// <summary>Creates an engine for <paramref name="rules"/>.</summary>
    /// <param name="rules">The rules.</param>
    /// <param name="repeatWhileHot">
    /// How often a detection is repeated while its entity stays above ε (sample time; default 60 s, zero = never). A
    /// planner that missed or dead-lettered the first one (down longer than its TTL) still isolates the entity, and a
    /// planner that already did ignores the repeat ("already isolated").
    /// </param>
    public DetectorEngine(RuleSet rules, TimeSpan? repeatWhileHot = null)
    {
        _loaded = Loaded.Of(rules);
        var repeat = repeatWhileHot ?? DefaultRepeatWhileHot;
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, TimeSpan.Zero, nameof(repeatWhileHot));
        _repeatNs = repeat.Ticks * 100;
    }

    /// <summary>The default of <c>repeatWhileHot</c>.</summary>
    public static TimeSpan DefaultRepeatWhileHot { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The rules in force.</summary>
    public RuleSet Rules => _loaded.Set;

    /// <summary>Swaps the rules atomically (reload); state of rules that keep their name survives.</summary>
    public void Replace(RuleSet rules) => _loaded = Loaded.Of(rules);

    /// <summary>Events per second of a window count.</summary>
    public static double Rate(long count, long intervalNs) => count * NsPerSecond / intervalNs;

    /// <summary>
    /// Evaluates every rule against one valid sample (see <see cref="SampleValidator"/>) and
    /// appends the detections it causes to <paramref name="detections"/>.
    /// </summary>
    public void Evaluate(CounterSample sample, IRuleStateStore store, ICollection<Detection> detections)
    {
        ArgumentNullException.ThrowIfNull(sample);
        Evaluate(SampleView.Of(sample), store, detections);
    }

    /// <summary>
    /// Evaluates every rule against one valid sample view (a batch entry or a single record) and
    /// appends the detections it causes. State is written only when it changes, so a quiet
    /// entity costs reads only.
    /// </summary>
    public void Evaluate(SampleView sample, IRuleStateStore store, ICollection<Detection> detections)
    {
        ArgumentNullException.ThrowIfNull(sample);
        Evaluate(sample, store, sample.Keys is null ? null : store as IRuleStateSlots, detections);
    }

    /// <summary>
    /// As <see cref="Evaluate(SampleView, IRuleStateStore, ICollection{Detection})"/>, with a store of cells: a decoder's cached
    /// entity then reads its state with no key built, no lookup and no type test.
    /// </summary>
    public void Evaluate(SampleView sample, IRuleStateSlots store, ICollection<Detection> detections) =>
        Evaluate(sample, store, store, detections);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Evaluate(SampleView sample, IRuleStateStore store, IRuleStateSlots? slotStore, ICollection<Detection> detections)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(detections);
        var loaded = _loaded;
        var rules = loaded.Set;
        var ruleArray = loaded.Rules;
        var counters = sample.CounterSet.RuleSlots(rules);
        // A decoder's cached entity and a store with cells: the state is read with no key built and no lookup.
        var keys = sample.Keys;
        var slots = keys is null ? null : slotStore;
        for (var i = 0; i < counters.Length && i < ruleArray.Length; i++)
        {
            if (counters[i] < 0 || !sample.TryGetCount(counters[i], out var count))
            {
                continue;
            }
            var rule = ruleArray[i];
            var slot = slots is null ? null : keys!.Slot(slots, rules, i);
            var state = (slot is null ? store.Find(sample.StateKey(rules, i)) : slot.State) ?? default;
            var rate = Rate(count, sample.IntervalNs);
            // The common case, a quiet entity with no state, stays so: Step would return the initial state (below ε
            // the run ends, nothing is hot, nothing armed), so there is nothing to write and nothing to emit.
            if (!(rate > rule.Threshold) && state.IsInitial)
            {
                continue;
            }
            var next = Step(rule, state, rate, sample, _repeatNs);
            if (next != state)
            {
                store.Put(sample.StateKey(rules, i), next);
            }
            // A new cooldown while hot is a repeat (Step sets one only when it fires).
            if (next.Hot && (!state.Hot || next.CooldownUntilNs != state.CooldownUntilNs))
            {
                detections.Add(NewDetection(rule, sample, rate, next.RunStartNs));
            }
            else if (state.Armed && !next.Armed && next.QuietSinceNs != 0)
            {
                detections.Add(NewQuiet(rule, sample, rate, state.QuietSinceNs));
            }
        }
    }

    /// <summary>The state store key of an entity and rule.</summary>
    public static string StateKey(string entityId, string rule) => entityId + "#" + rule;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static RuleState Step(Rule rule, RuleState s, double rate, SampleView sample, long repeatNs)
    {
        if (rate > rule.Threshold)
        {
            var runStart = s.Above == 0 ? sample.TimestampNs - sample.IntervalNs : s.RunStartNs;
            var above = s.Above == int.MaxValue ? s.Above : s.Above + 1;
            var cooldownNs = rule.Cooldown.Ticks * 100;
            // The last detection fired at CooldownUntilNs - cooldown; while the entity stays above ε it fires again
            // every repeatNs, in sample time so that a replay repeats at the same samples.
            var repeats = s.Hot && repeatNs > 0 && above >= rule.Sustain
                && sample.TimestampNs >= Math.Max(s.CooldownUntilNs, s.CooldownUntilNs - cooldownNs + repeatNs);
            var fires = repeats || (!s.Hot && above >= rule.Sustain && sample.TimestampNs >= s.CooldownUntilNs);
            return fires
                ? new RuleState(above, runStart, true, sample.TimestampNs + cooldownNs, Armed: rule.ReleaseAfter is not null)
                : s with { Above = above, RunStartNs = runStart, QuietSinceNs = 0 };
        }
        // Below ε the run ends; the entity stays hot until it also drops below the clear bound.
        var next = s with { Above = 0, RunStartNs = 0, Hot = s.Hot && rate >= rule.ClearBelow };
        if (!s.Armed || rule.ReleaseAfter is not { } after)
        {
            return next with { Armed = false, QuietSinceNs = 0 };
        }
        if (rate >= rule.ClearBelow)
        {
            return next with { QuietSinceNs = 0 };
        }
        // Quiet is measured in sample time from the start of the first quiet window, so a replay releases at the same sample.
        var quietSince = s.QuietSinceNs != 0 ? s.QuietSinceNs : sample.TimestampNs - sample.IntervalNs;
        return sample.TimestampNs - quietSince >= after.Ticks * 100
            ? next with { Armed = false, QuietSinceNs = quietSince }
            : next with { QuietSinceNs = quietSince };
    }

    // The signal that lifts an isolation: same shape as a detection, kind "quiet", rate = the last quiet sample's.
    private static Detection NewQuiet(Rule rule, SampleView sample, double rate, long quietSinceNs)
    {
        var d = NewDetection(rule, sample, rate, quietSinceNs);
        d.detectionId += ":quiet";
        d.kind = DetectionKinds.Quiet;
        return d;
    }

    private static Detection NewDetection(Rule rule, SampleView sample, double rate, long runStartNs) => new()
    {
        // From the sample alone, so a replay gives the same id; the window end keeps ids unique
        // when a restarted probe starts its seq again.
        detectionId = string.Create(CultureInfo.InvariantCulture, $"{sample.Host}:{sample.TimestampNs}:{sample.Seq}:{rule.Name}"),
        entity = sample.Entity,
        rule = rule.Name,
        counter = rule.Counter,
        rate = rate,
        threshold = rule.Threshold,
        scope = rule.Scope,
        detectedAtNs = sample.TimestampNs,
        firstSampleAtNs = runStartNs,
        sampleSeq = sample.Seq,
        kind = DetectionKinds.Detected,
    };
}
