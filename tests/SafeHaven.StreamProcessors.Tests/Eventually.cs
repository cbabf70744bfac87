namespace SafeHaven.StreamProcessors.Tests;

/// <summary>Polls a condition until it holds or a deadline passes; no fixed sleeps.</summary>
internal static class Eventually
{
    public static async Task<bool> True(Func<bool> condition, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }
            await Task.Delay(10);
        }
        return true;
    }
}
