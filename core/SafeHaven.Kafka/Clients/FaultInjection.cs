namespace SafeHaven.Kafka.Clients;

/// <summary>
/// A deliberate fault for tests of the process supervision contract ("a dead role exits 1"): when the environment
/// variable <c>SAFEHAVEN_INJECT_FAULT</c> names a component (or a prefix of it, e.g. <c>actuator</c>), that
/// component's consume loop throws as it starts. Unset in every real deployment; costs one lookup per loop start.
/// </summary>
public static class FaultInjection
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "SAFEHAVEN_INJECT_FAULT";

    /// <summary>Throws <see cref="InjectedFaultException"/> when <see cref="Variable"/> names <paramref name="component"/>.</summary>
    public static void ThrowIfInjected(string component)
    {
        ArgumentNullException.ThrowIfNull(component);
        var target = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(target) && component.StartsWith(target, StringComparison.Ordinal))
        {
            throw new InjectedFaultException($"{component}: fault injected by {Variable}={target}");
        }
    }
}

/// <summary>The fault <see cref="FaultInjection"/> injects.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);
