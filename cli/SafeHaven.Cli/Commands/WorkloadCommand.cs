using System.CommandLine;
using System.IO.Pipes;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven workload noisy|benign</c>: the demo's own workloads, so the demo needs nothing
/// installed. <c>noisy</c> is a scheduler covert-channel sender: two threads hand a byte back and
/// forth over pipes, each hand-off a context switch (tens of thousands per second).
/// <c>benign</c> stays idle. Both print <c>ready</c> and run until killed; <c>noisy</c> starts its
/// storm when it reads a line on stdin (so the demo can time detection from a known instant).
/// </summary>
internal static class WorkloadCommand
{
    public static Command Create()
    {
        var kind = new Argument<string>("kind") { Description = "noisy or benign" };
        kind.AcceptOnlyFromAmong("noisy", "benign");
        var command = new Command("workload", "Run a demo workload (noisy: context-switch storm; benign: mostly idle)") { kind };
        command.Hidden = true;
        command.SetAction((parse, ct) =>
        {
            Console.Out.WriteLine("ready");
            Console.Out.Flush();
            if (parse.GetValue(kind) == "noisy")
            {
                Console.In.ReadLine();
                PingPong(ct);
            }
            else
            {
                ct.WaitHandle.WaitOne(Timeout.Infinite);
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static void PingPong(CancellationToken ct)
    {
        using var ping = new AnonymousPipeServerStream(PipeDirection.Out);
        using var pingIn = new AnonymousPipeClientStream(PipeDirection.In, ping.ClientSafePipeHandle);
        using var pong = new AnonymousPipeServerStream(PipeDirection.Out);
        using var pongIn = new AnonymousPipeClientStream(PipeDirection.In, pong.ClientSafePipeHandle);
        var echo = new Thread(() =>
        {
            var b = new byte[1];
            while (pingIn.Read(b, 0, 1) == 1)
            {
                pong.Write(b, 0, 1);
            }
        }) { IsBackground = true, Name = "pong" };
        echo.Start();
        var buffer = new byte[1];
        while (!ct.IsCancellationRequested)
        {
            ping.Write(buffer, 0, 1);
            if (pongIn.Read(buffer, 0, 1) != 1)
            {
                break;
            }
        }
    }
}
