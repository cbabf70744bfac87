using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Configuration;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.StreamProcessors.Siem;

namespace SafeHaven.Cli.Tests.Configuration;

/// <summary>
/// examples/safehaven.yaml (and its JSON twin) and the configuration reference of docs/OPERATIONS.md against the
/// options classes: the example sets every setting and binds, the reference lists every setting with its type and
/// default. A new setting without an example line or a reference row fails here.
/// </summary>
public sealed partial class ConfigReferenceTests
{
    private static readonly KeyValuePair<string, string?>[] NoEnvironment = [];

    [Fact]
    public void Example_binds_every_options_class_and_validates()
    {
        var config = SafeHavenConfig.Load(new FileInfo(Example("safehaven.yaml")), NoEnvironment);
        Assert.Equal(ConfigSections.All.Count, config.Configuration.GetSection(SafeHavenConfig.Root).GetChildren().Count());
        var kafka = config.Bind<KafkaOptions>(KafkaOptions.SectionName);
        kafka.BootstrapServers = "127.0.0.1:9092";
        kafka.Validate();
        config.Bind<ProbeOptions>(ProbeOptions.SectionName).Validate();
        config.Bind<DetectorOptions>(DetectorOptions.SectionName).Validate();
        config.Bind<PlannerOptions>(PlannerOptions.SectionName).Validate();
        config.Bind<MovingTargetOptions>(MovingTargetOptions.SectionName).Validate();
        config.Bind<SiemOptions>(SiemOptions.SectionName).Validate();
        config.Bind<HostActuatorOptions>(HostActuatorOptions.SectionName).Validate(CpuList.Parse("0-3"));
        config.Bind<VmActuatorOptions>(VmActuatorOptions.SectionName).Validate();
        config.Bind<ContainerActuatorOptions>(ContainerActuatorOptions.SectionName).Validate();
    }

    [Fact]
    public void Example_sets_every_setting_of_every_options_class()
    {
        var file = Example("safehaven.yaml");
        var config = SafeHavenConfig.Load(new FileInfo(file), NoEnvironment);
        var keys = config.Configuration.AsEnumerable().Select(kv => Index().Replace(kv.Key, "[]")).ToList();
        // The YAML provider drops an empty list or mapping ("Pids: []"): those count when written so in the file.
        var text = File.ReadAllText(file);
        var missing = ConfigReference.Settings()
            .Where(s => !keys.Any(k => k.Equals(s.Key, StringComparison.OrdinalIgnoreCase)
                || k.StartsWith(s.Key + ":", StringComparison.OrdinalIgnoreCase) || k.StartsWith(s.Key + "[]", StringComparison.OrdinalIgnoreCase)))
            .Where(s => !Regex.IsMatch(text, $@"^\s+{Regex.Escape(s.Key[(s.Key.LastIndexOf(':') + 1)..])}:\s*(\[\]|\{{\}})\s*(#.*)?$", RegexOptions.Multiline))
            .Select(s => s.Key).ToList();
        Assert.True(missing.Count == 0, "examples/safehaven.yaml lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void Json_twin_holds_the_same_keys_and_values()
    {
        static Dictionary<string, string> Flat(string file) =>
            SafeHavenConfig.Load(new FileInfo(Example(file)), NoEnvironment).Configuration.AsEnumerable()
                .Where(kv => kv.Value is { Length: > 0 }) // sections and empty collections: the providers differ
                .ToDictionary(kv => kv.Key.ToUpperInvariant(), kv => (kv.Value ?? "").ToUpperInvariant());
        Assert.Equal(Flat("safehaven.yaml").OrderBy(kv => kv.Key, StringComparer.Ordinal), Flat("safehaven.json").OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Operations_reference_lists_every_setting_with_type_and_default()
    {
        var path = Path.Combine(RepoRoot(), "docs", "OPERATIONS.md");
        var doc = File.ReadAllText(path);
        var expected = ConfigReference.Markdown();
        var begin = doc.IndexOf(ConfigReference.Begin, StringComparison.Ordinal);
        var end = doc.IndexOf(ConfigReference.End, StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("SAFEHAVEN_WRITE_REFERENCE") == "1" && begin >= 0 && end > begin)
        {
            File.WriteAllText(path, doc[..begin] + expected + doc[(end + ConfigReference.End.Length)..]);
            return;
        }
        Assert.True(begin >= 0 && end > begin, $"{path}: no {ConfigReference.Begin} … {ConfigReference.End} section");
        Assert.Equal(expected, doc[begin..(end + ConfigReference.End.Length)]);
        foreach (var setting in ConfigReference.Settings())
        {
            Assert.Contains($"| `{setting.Relative}` |", doc, StringComparison.Ordinal);
        }
    }

    private static string Example(string name) => Path.Combine(RepoRoot(), "examples", name);

    // The repository root (the directory holding SafeHaven.sln): above the test binaries, or above this source file.
    private static string RepoRoot([CallerFilePath] string sourceFile = "")
    {
        string[] starts = [AppContext.BaseDirectory, Environment.CurrentDirectory, Path.GetDirectoryName(sourceFile) ?? ""];
        foreach (var start in starts.Where(s => s.Length > 0))
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException($"no SafeHaven.sln above any of: {string.Join(", ", starts)}");
    }

    [GeneratedRegex(@":\d+(?=:|$)")]
    private static partial Regex Index();
}
