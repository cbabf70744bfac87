using System.CommandLine;
using SafeHaven.Cli;
using SafeHaven.Cli.Commands;

var root = new RootCommand("SafeHaven: on-demand isolation against side and covert channels.");
foreach (var command in new Command[]
{
    BrokerCommand.Create(), TopicsCommand.Create(), ProbeCommand.Create(), DetectCommand.Create(), PlanCommand.Create(),
    ActuateCommand.Create(), HypervisorCommand.Create(), UpCommand.Create(), DemoCommand.Create(), WorkloadCommand.Create(), KeysCommand.Create(),
    ContainerCommand.Create(),
})
{
    root.Subcommands.Add(command);
}
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
try
{
    return await parse.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        // A verb stops its roles within RoleHost.StopExit of SIGTERM and exits 0; only a verb that hangs beyond this
        // is cut short with 143 (the default, 2 s, cut clean stops short too).
        ProcessTerminationTimeout = TimeSpan.FromSeconds(9.5),
    }).ConfigureAwait(false);
}
catch (Exception e) when (e is UsageException or ArgumentException or FormatException or SafeHaven.Security.KeyFileException)
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
