using System.CommandLine;
using SafeHaven.Security;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven keys generate|list|sample-master|enrol</c>: role keys. Rotation: generate a new pair into the same
/// directory; a role signs with its newest .key; consumers trust every .pub they are given until the old one is
/// removed. Sample MACs: one master for the detectors, one derived key per host's probe.
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Key directory", Required = true };
        var role = new Option<string>("--role") { Description = $"Whose key: {string.Join(", ", RecordSeal.Writers.Keys)} (docs/SECURITY.md)", DefaultValueFactory = _ => KeyRoles.Planner };
        var subject = new Option<string?>("--subject") { Description = "What the key speaks for: DATACENTER/HOST for a probe, the actuator id, a detector name" };
        var generate = new Command("generate", "Create a new Ed25519 key pair (KEYID.key, mode 0600, and KEYID.pub); prints the key id") { dir, role, subject };
        generate.SetAction(parse =>
        {
            var d = parse.GetValue(dir)!;
            string id;
            try
            {
                id = SigningKeys.Generate(d.FullName, parse.GetValue(role)!, parse.GetValue(subject));
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--role/--subject: {e.Message}", e);
            }
            Console.Out.WriteLine(id);
            var who = parse.GetValue(role) == KeyRoles.Planner ? "agents" : "the planner and detectors";
            Console.Error.WriteLine($"keys: private {Path.Combine(d.FullName, id + ".key")} ({parse.GetValue(role)} only), public {Path.Combine(d.FullName, id + ".pub")} (for {who} to trust)");
            return ExitCodes.Ok;
        });
        var listDir = new Option<DirectoryInfo>("--dir") { Description = "Key directory", Required = true };
        var list = new Command("list", "List the key ids of a directory: private keys first, then trusted public keys") { listDir };
        list.SetAction(parse =>
        {
            var d = parse.GetValue(listDir)!;
            if (!d.Exists)
            {
                throw new UsageException($"--dir {d.FullName}: no such directory");
            }
            // Private keys are listed by file name (KEYID.key) and never loaded: listing needs no secret.
            foreach (var f in d.GetFiles("*.key").OrderByDescending(f => f.LastWriteTimeUtc))
            {
                Console.Out.WriteLine($"private\t{Path.GetFileNameWithoutExtension(f.Name)}\t{f.LastWriteTimeUtc:O}");
            }
            foreach (var id in SigningKeys.LoadVerifier(d.FullName).KeyIds.Order(StringComparer.Ordinal))
            {
                Console.Out.WriteLine($"public\t{id}");
            }
            return ExitCodes.Ok;
        });
        return new Command("keys", "Manage the role keys that sign commands and seal records (docs/SECURITY.md)")
        {
            generate, list, SampleMaster(), Enrol(),
        };
    }

    private static Command SampleMaster()
    {
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Directory of the detectors' trusted keys", Required = true };
        var command = new Command("sample-master", "Create the sample MAC master (KEYID.mac, 0600) that detectors check host MACs of samples with; prints its id") { dir };
        command.SetAction(parse =>
        {
            var d = parse.GetValue(dir)!;
            var id = Guard(() => SampleMacKeys.GenerateMaster(d.FullName));
            Console.Out.WriteLine(id);
            Console.Error.WriteLine($"keys: sample MAC master {Path.Combine(d.FullName, id + ".mac")} (detectors only; enrol each host with 'keys enrol')");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Enrol()
    {
        var master = new Option<FileInfo>("--master") { Description = "The sample MAC master file (KEYID.mac)", Required = true };
        var subject = new Option<string>("--subject") { Description = "The host: DATACENTER/HOST", Required = true };
        var dir = new Option<DirectoryInfo>("--dir") { Description = "The host's probe key directory", Required = true };
        var command = new Command("enrol", "Derive a host's sample MAC key from the master into its probe key directory (KEYID.hostmac, 0600)") { master, subject, dir };
        command.SetAction(parse =>
        {
            var path = Guard(() => SampleMacKeys.Enrol(parse.GetValue(master)!.FullName, parse.GetValue(subject)!, parse.GetValue(dir)!.FullName));
            Console.Out.WriteLine(path);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }
}
