namespace SafeHaven.Core;

/// <summary>Keys of <c>EntityState.attributes</c> that more than one role reads or writes.</summary>
public static class InventoryAttributes
{
    /// <summary>An actuator's host's network segment (a rack or subnet label), read by the planner's network scope.</summary>
    public const string NetworkSegment = "network.segment";
}
