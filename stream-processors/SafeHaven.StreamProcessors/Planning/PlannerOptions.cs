namespace SafeHaven.StreamProcessors.Planning;

/// <summary>Planner settings (config section <c>SafeHaven:Planner</c>).</summary>
public sealed class PlannerOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Planner";

    /// <summary>Consumer group of the planner. Defaults to <c>safehaven-planner</c>.</summary>
    public string GroupId { get; set; } = "safehaven-planner";

    /// <summary>How long an actuator may still start a command. Defaults to 10 s.</summary>
    public TimeSpan CommandTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mark every command as a dry run. Defaults to false.</summary>
    public bool DryRun { get; set; }

    /// <summary>
    /// After a command's deadline, how long its result may still take before the planner sends it again to
    /// reconcile. Defaults to 5 s.
    /// </summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Session timeout of the ledger lease: how long a planner that stopped answering keeps the lease. A standby takes
    /// over after about 2.5 times this on the embedded broker (measured: 3 s gives 7–8 s, 6 s gives 16 s). Apache Kafka
    /// refuses values below its <c>group.min.session.timeout.ms</c> (6 s by default; docker-compose.yml lowers it to 3 s).
    /// Defaults to 3 s.
    /// </summary>
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>This instance's name in logs and in the ledger records it writes. Defaults to the host name and process id.</summary>
    public string InstanceId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new ArgumentException("planner group id is empty");
        }
        if (CommandTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"command TTL must be positive, got {CommandTtl}");
        }
        if (LeaseTimeout < TimeSpan.FromSeconds(1) || LeaseTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"lease timeout must be between 1 s and 5 min, got {LeaseTimeout}");
        }
        if (ExpiryGrace < TimeSpan.Zero)
        {
            throw new ArgumentException($"expiry grace must not be negative, got {ExpiryGrace}");
        }
        if (!SafeHaven.Core.Identifiers.IsId(InstanceId))
        {
            throw new ArgumentException($"planner instance id '{InstanceId}' must be letters, digits, '.', '_', ':' or '-'");
        }
    }
}
