using SafeHaven.Kafka.Clients;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>The planner's start-up plan and signature: a real, verifiable command that goes nowhere.</summary>
public sealed class PlannerWarmUpTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_scratch_plan_gives_a_signed_command_under_the_default_policy(bool dryRun)
    {
        // No broker behind the address: nothing may be sent.
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = "127.0.0.1:1" });
        using var signer = CommandSigner.Ephemeral(out var verifier);

        var command = PlannerWarmUp.Run(kafka, new PlannerOptions { DryRun = dryRun }, signer, TimeProvider.System);

        Assert.NotNull(command);
        Assert.Null(verifier.Problem(command));
        Assert.Equal("warm-up", command.entity.host);
        Assert.Equal(dryRun, command.dryRun);
    }
}
