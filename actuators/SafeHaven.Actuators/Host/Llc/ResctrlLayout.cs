using System.Globalization;

namespace SafeHaven.Actuators.Host.Llc;

/// <summary>
/// How the LLC's ways are split: isolated groups take <see cref="WaysPerSlot"/> ways each from the top of the capacity bit
/// mask, disjoint from each other and from the default group, which keeps the low ways (at least the hardware's minimum).
/// Pure arithmetic over what <c>info/L3</c> reports.
/// </summary>
/// <param name="CbmBits">Ways of the LLC (bits of <c>info/L3/cbm_mask</c>).</param>
/// <param name="MinCbmBits">Fewest ways a group may have (<c>info/L3/min_cbm_bits</c>).</param>
/// <param name="Closids">Classes of service (<c>info/L3/num_closids</c>), the default group's included.</param>
/// <param name="WaysPerSlot">Ways each isolated group gets.</param>
public sealed record ResctrlLayout(int CbmBits, int MinCbmBits, int Closids, int WaysPerSlot)
{
    /// <summary>
    /// How many isolated groups fit: one CLOS each beside the default's, and together at most half the ways, so everything
    /// else keeps at least half the cache (and never fewer ways than the hardware's minimum).
    /// </summary>
    public int Slots => CbmBits is < 2 or > 64 || WaysPerSlot < Math.Max(1, MinCbmBits)
        ? 0
        : Math.Max(0, Math.Min(Closids - 1, Math.Min(CbmBits - Math.Max(1, MinCbmBits), CbmBits / 2) / WaysPerSlot));

    /// <summary>The capacity bit mask of isolated group <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such slot.</exception>
    public ulong SlotMask(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Slots);
        var low = CbmBits - (slot + 1) * WaysPerSlot;
        return Ones(WaysPerSlot) << low;
    }

    /// <summary>The default group's mask: every way no isolated group can take.</summary>
    public ulong DefaultMask => Ones(CbmBits - Slots * WaysPerSlot);

    /// <summary>A mask as resctrl writes it: lower-case hex without prefix.</summary>
    public static string Hex(ulong mask) => mask.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Parses a resctrl hex mask; null when it is not one.</summary>
    public static ulong? ParseHex(string text) =>
        ulong.TryParse(text.Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static ulong Ones(int n) => n >= 64 ? ulong.MaxValue : (1UL << n) - 1;
}
