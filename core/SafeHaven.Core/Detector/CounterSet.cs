using System.Collections;
using System.Runtime.CompilerServices;
using SafeHaven.Core.Rules;

namespace SafeHaven.Core.Detector;

/// <summary>
/// The counter names a sample (or every entry of a batch) carries, with the position of each rule's counter
/// among them worked out once per rule set: the engine then reads a count by index, with no name comparison
/// per sample. A batch decoder keeps one set per host for as long as the host sends the same names.
/// </summary>
/// <remarks>Not thread-safe: owned by one decoder (one stream task), or by one single-sample view.</remarks>
public sealed class CounterSet : IReadOnlyList<string>
{
    private readonly string[] _names;
    private RuleSet? _rules;
    private int[] _ruleSlots = [];

    /// <summary>A set over <paramref name="names"/> (not copied: do not change it afterwards).</summary>
    public CounterSet(string[] names) => _names = names ?? throw new ArgumentNullException(nameof(names));

    /// <summary>No counters.</summary>
    public static CounterSet Empty { get; } = new([]);

    /// <inheritdoc/>
    public int Count => _names.Length;

    /// <inheritdoc/>
    public string this[int index] => _names[index];

    /// <summary>
    /// For each rule of <paramref name="rules"/>, the position of its counter here (the first, should a name
    /// repeat), or -1 when absent. Recomputed when the rules are replaced.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<int> RuleSlots(RuleSet rules) => ReferenceEquals(rules, _rules) ? _ruleSlots : Follow(rules);

    private int[] Follow(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var slots = new int[rules.Rules.Count];
        for (var r = 0; r < slots.Length; r++)
        {
            slots[r] = Array.IndexOf(_names, rules.Rules[r].Counter);
        }
        (_rules, _ruleSlots) = (rules, slots);
        return slots;
    }

    /// <summary>True when the names are exactly <paramref name="names"/>, in order.</summary>
    public bool SameNames(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count != _names.Length)
        {
            return false;
        }
        for (var i = 0; i < _names.Length; i++)
        {
            if (!string.Equals(_names[i], names[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <inheritdoc/>
    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_names).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
