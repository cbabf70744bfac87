using System.CommandLine;
using System.Runtime.InteropServices;
using SafeHaven.Cli;
using SafeHaven.Cli.Commands;

var root = new RootCommand("SafeHaven: on-demand isolation against side and covert channels.");
root.Options.Add(CommonOptions.ConfigFile);
foreach (var command in new Command[]
{
    BrokerCommand.Create(), TopicsCommand.Create(), ProbeCommand.Create(), DetectCommand.Create(), PlanCommand.Create(),
    ActuateCommand.Create(), HypervisorCommand.Create(), UpCommand.Create(), DemoCommand.Create(), WorkloadCommand.Create(), KeysCommand.Create(),
    ContainerCommand.Create(), SiemCommand.Create(), TopCommand.Create(), ReportCommand.Create(), SimulateCommand.Create(),
    RecordCommand.Create(), ReplayCommand.Create(), EvaluateCommand.Create(), LearnCommand.Create(),
})
{
    root.Subcommands.Add(command);
}
var otlp = SafeHaven.Cli.Runtime.TracingSetup.EndpointOption();
root.Options.Add(otlp);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }
    Console.Error.WriteLine("(see 'safehaven --help')");
    return ExitCodes.BadUsage;
}
// SIGINT and SIGTERM are taken here, before any verb runs: System.CommandLine registers its own handlers only once
// the action first awaits, and a signal before that (a supervisor stopping a role right after it started) got the
// runtime's default and exit 143. The token stops the verb, which exits 0 within RoleHost.StopExit; the watchdog
// ends a verb that hangs anyway.
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    SafeHaven.Cli.Runtime.ExitWatchdog.Arm(ExitCodes.Ok, SafeHaven.Cli.Runtime.RoleHost.StopExit);
    stop.Cancel();
}
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
try
{
    SafeHaven.Cli.Runtime.TracingSetup.Configure(parse.GetValue(otlp), Environment.GetEnvironmentVariable, parse.CommandResult.Command.Name);
    // Every verb: a bad --config file or SAFEHAVEN__ variable exits 2 before the verb starts.
    _ = SafeHaven.Cli.Configuration.SafeHavenConfig.Of(parse);
    return await parse.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = null,
    }, stop.Token).ConfigureAwait(false);
}
catch (Exception e) when (e is UsageException or ArgumentException or FormatException or SafeHaven.Security.KeyFileException or SafeHaven.Traces.TraceFormatException)
{
    // Validation of flags, files and options: the message names what is wrong.
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.BadUsage;
}
catch (OperationCanceledException)
{
    return ExitCodes.Ok;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
    return ExitCodes.Failure;
}
