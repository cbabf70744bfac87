using SafeHaven.Core;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Hosting;

/// <summary>The argument checks the registrations of the hypervisor and container agents share.</summary>
internal static class AgentRegistration
{
    /// <summary>
    /// Throws for a missing argument, invalid <paramref name="options"/> (checked by <paramref name="validate"/>) or an
    /// identity that is no valid datacenter and host: at registration, where a bad flag can still be named, not when the
    /// host starts.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The options or the identity are invalid.</exception>
    public static void Require<TOptions>(TOptions options, Action<TOptions> validate, ActuatorIdentity identity, CommandVerifier verifier)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(verifier);
        validate(options);
        Identifiers.RequireToken(identity.Host, "host");
        Identifiers.RequireToken(identity.Datacenter, "datacenter");
    }
}
