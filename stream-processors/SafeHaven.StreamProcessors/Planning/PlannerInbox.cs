using System.Collections.Concurrent;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// Work other threads hand to the planner's own thread: the planner is single-threaded by design (no lock around its
/// state), so a reservation from another datacenter and the end of a move out are run by the planner loop between two
/// records (<see cref="Drain"/>), never beside it.
/// </summary>
internal sealed class PlannerInbox
{
    private readonly ConcurrentQueue<Action> _work = new();

    /// <summary>Queues <paramref name="work"/> for the planner's thread.</summary>
    public void Post(Action work) => _work.Enqueue(work);

    /// <summary>Runs everything queued so far; called by the planner loop only. An exception stops the planner.</summary>
    public void Drain()
    {
        while (_work.TryDequeue(out var work))
        {
            work();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the planner's thread and waits for it. When the planner has not started it within
    /// <paramref name="timeout"/> it never will (it is withdrawn), and false is returned: no half-done work behind a timeout.
    /// </summary>
    public bool TryInvoke<T>(Func<T> work, TimeSpan timeout, out T? result)
    {
        var call = new Call<T>(work);
        _work.Enqueue(call.Run);
        if (!call.WaitDone(timeout) && call.Withdraw())
        {
            result = default;
            return false;
        }
        // Started before the withdrawal: it finishes shortly (one ledger record acknowledged).
        call.WaitDone(Timeout.InfiniteTimeSpan);
        if (call.Failure is { } failure)
        {
            throw new InvalidOperationException("the planner failed the request: " + failure.Message, failure);
        }
        result = call.Result;
        return true;
    }

    private sealed class Call<T>(Func<T> work)
    {
        private const int Pending = 0, Started = 1, Withdrawn = 2;
        private readonly object _gate = new();
        private int _state;
        private bool _done;

        public T? Result { get; private set; }

        public Exception? Failure { get; private set; }

        public bool Withdraw() => Interlocked.CompareExchange(ref _state, Withdrawn, Pending) == Pending;

        public bool WaitDone(TimeSpan timeout)
        {
            var until = DateTime.UtcNow + timeout;
            lock (_gate)
            {
                while (!_done)
                {
                    var left = timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : until - DateTime.UtcNow;
                    if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
                    {
                        return false;
                    }
                    Monitor.Wait(_gate, left);
                }
                return true;
            }
        }

        public void Run()
        {
            if (Interlocked.CompareExchange(ref _state, Started, Pending) != Pending)
            {
                return;
            }
            try
            {
                Result = work();
            }
            catch (Exception e)
            {
                Failure = e;
                throw; // on the planner's thread too: a ledger record not acknowledged stops the planner
            }
            finally
            {
                lock (_gate)
                {
                    _done = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }
}
