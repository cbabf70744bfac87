using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning.CrossDc;

namespace SafeHaven.StreamProcessors.Tests.Planning.CrossDc;

/// <summary>
/// A move out that ends in an error after its receive went out (here: the planner stopping mid-move) may still land: the
/// receive runs in the other datacenter. Before, the mover released its lease at once ("move interrupted"), so a standby
/// planner taking over could lease the entity again and start a second move while the first ran; now the move is
/// watched like a timed-out one and the lease is left to run out.
/// </summary>
public sealed class CrossDcMoverErrorTests
{
    [Fact]
    public async Task A_move_stopped_after_its_receive_went_out_keeps_its_lease_until_it_runs_out()
    {
        using var dcs = new TwoDatacenters();
        using var stop = new CancellationTokenSource();
        var moveReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        dcs.OnExecute = (dc, cmd) =>
        {
            if (dc == "dc2" && cmd.action == Actions.Receive)
            {
                // The planner stops while dc2's agent runs the receive; the agent answers only once the mover has returned.
                stop.Cancel();
                moveReturned.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default).GetAwaiter().GetResult();
            }
        };
        var mover = dcs.Mover(dcs.Dc1, dcs.Dc1Link, dcs.Dc1Follows);

        CrossDcOutcome outcome;
        try
        {
            outcome = await mover.MoveAsync(TwoDatacenters.Move("h1:1:r1", lease: TimeSpan.FromMinutes(2)), stop.Token);
        }
        finally
        {
            moveReturned.TrySetResult();
        }

        Assert.Equal(CrossDcStatus.Error, outcome.Status);
        Assert.True(outcome.SettledAtNs > 0);
        Assert.NotNull(outcome.Late);
        Assert.Null(await outcome.Late.WaitAsync(TimeSpan.FromSeconds(30)));
        // Everything the mover wrote is on dc2's action-leases by now: the lease it won is still live (no release record).
        Assert.True(dcs.Dc1Follows.CatchUp(TimeSpan.FromSeconds(30)), "dc2's action leases read to their end");
        Assert.True(dcs.Dc1Follows.Read(b => b.Holds("dc1/h1/vm/v1", "dc1", "p1", outcome.Epoch)),
            $"dc1's lease of epoch {outcome.Epoch} is still held after the interrupted move");
    }
}
