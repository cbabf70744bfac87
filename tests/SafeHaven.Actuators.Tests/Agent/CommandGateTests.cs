using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Agent;

public sealed class CommandGateTests : IDisposable
{
    private const long Now = 1_000_000_000_000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-gate-");

    private string Journal => Path.Combine(_dir.FullName, "a1", "executed-commands");

    private static IsolationCommand Copy(string id, long deadlineNs) => new()
    {
        commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", pid = 42 }, level = Levels.Core,
        action = Actions.Isolate, source = "a1", target = "3", deadlineNs = deadlineNs, reasons = [], signature = [],
    };

    [Fact]
    public void An_expired_copy_answers_the_id_so_a_later_fresh_copy_of_it_is_not_run_also_after_a_restart()
    {
        // The agent was down: the original (expired by now) and the planner's re-send (fresh) both wait for it.
        using (var journal = CommandJournal.Open(Journal))
        {
            var gate = new CommandGate("a1", verifier: null, journal);
            Assert.Equal(ResultStatus.Rejected, gate.Admit(Copy("c-d1-core", Now - 1), Now)?.Status);
            var fresh = gate.Admit(Copy("c-d1-core", Now + 5_000_000_000), Now);
            Assert.Equal((ResultStatus.Rejected, "duplicate command: already executed, and it rejected"), fresh);
            // Another id is unaffected.
            Assert.Null(gate.Admit(Copy("c-d2-core", Now + 5_000_000_000), Now));
        }
        using var reopened = CommandJournal.Open(Journal);
        var restarted = new CommandGate("a1", verifier: null, reopened);
        Assert.Equal(ResultStatus.Rejected, restarted.Admit(Copy("c-d1-core", Now + 5_000_000_000), Now)?.Status);
        Assert.Null(restarted.Admit(Copy("c-d2-core", Now + 5_000_000_000), Now));
        Assert.Empty(reopened.Unfinished);
    }

    [Fact]
    public void A_foreign_copy_does_not_answer_the_id()
    {
        // Rejections before the signature and addressee checks pass are not remembered: a forger must not burn a genuine id.
        var gate = new CommandGate("a1", verifier: null, journal: null);
        var foreign = Copy("c-d1-core", Now - 1);
        foreign.source = "a2";
        Assert.Equal(ResultStatus.Rejected, gate.Admit(foreign, Now)?.Status);
        Assert.Null(gate.Admit(Copy("c-d1-core", Now + 1), Now));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
