namespace SafeHaven.Actuators.Host;

/// <summary>
/// What reading one intermediate level's real state found for a process after an agent restart: whether the end state a
/// command asked for holds, and the evidence either way (which thread, which file, which value).
/// </summary>
/// <param name="Holds">True when every live thread is where the command puts it.</param>
/// <param name="Evidence">What was read, for the result's error field.</param>
public sealed record LevelReading(bool Holds, string Evidence);
