using SafeHaven.Actuators.Container;
using SafeHaven.Cli.Configuration;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Siem;

namespace SafeHaven.Cli.Tests.Configuration;

/// <summary>
/// <c>--config</c> files (YAML and JSON) and <c>SAFEHAVEN__</c> variables bound onto the options classes: values land,
/// the environment wins over the file, and every bad key or value is a usage error naming the key and its source.
/// </summary>
public sealed class ConfigFileTests
{
    private static readonly KeyValuePair<string, string?>[] NoEnvironment = [];

    [Fact]
    public void Yaml_file_binds_values_onto_the_options_classes()
    {
        using var file = new CliRunner.TempFile("""
            SafeHaven:
              Probe:
                Period: "00:00:02"
                Counters: [cpu-migrations, page-faults]
                Tenants:
                  billing: ["uid:1001"]
              Kafka:
                Partitions: 7
                Security:
                  SslEndpointIdentification: https
              Siem:
                Format: ecs
              Container:
                Criu:
                  Mode: LazyPages
                  PortMin: 28000
            """);
        var config = SafeHavenConfig.Load(new FileInfo(file.Path), NoEnvironment);

        var probe = config.Bind<ProbeOptions>(ProbeOptions.SectionName);
        Assert.Equal(TimeSpan.FromSeconds(2), probe.Period);
        Assert.Equal(["cpu-migrations", "page-faults"], probe.Counters);
        Assert.Equal(["uid:1001"], probe.Tenants["billing"]);
        Assert.Equal(7, config.Bind<KafkaOptions>(KafkaOptions.SectionName).Partitions);
        Assert.Equal(SiemFormat.Ecs, config.Bind<SiemOptions>(SiemOptions.SectionName).Format);
        var container = config.Bind<ContainerActuatorOptions>(ContainerActuatorOptions.SectionName);
        Assert.Equal(CriuPageMode.LazyPages, container.Criu.Mode);
        Assert.Equal(28000, container.Criu.PortMin);
        // Untouched settings keep their defaults.
        Assert.Equal(27199, container.Criu.PortMax);
        Assert.Equal(new ProbeOptions().FineTick, probe.FineTick);
    }

    [Fact]
    public void Json_file_binds_as_yaml_does()
    {
        using var file = new CliRunner.TempFile("""{ "SafeHaven": { "Detector": { "Threads": 4, "ApplicationId": "det-x" } } }""", ".json");
        var detector = SafeHavenConfig.Load(new FileInfo(file.Path), NoEnvironment).Bind<DetectorOptions>(DetectorOptions.SectionName);
        Assert.Equal(4, detector.Threads);
        Assert.Equal("det-x", detector.ApplicationId);
    }

    [Fact]
    public void Environment_overrides_the_file_and_is_named_as_the_source()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Probe:\n    Period: \"00:00:02\"\n    Datacenter: dc-file\n");
        var config = SafeHavenConfig.Load(new FileInfo(file.Path), [new("SafeHaven:Probe:Period", "00:00:05")]);
        var probe = config.Bind<ProbeOptions>(ProbeOptions.SectionName);
        Assert.Equal(TimeSpan.FromSeconds(5), probe.Period);
        Assert.Equal("dc-file", probe.Datacenter);
        Assert.Equal("from environment variable SAFEHAVEN__Probe__Period", config.SourceOf("SafeHaven:Probe:Period"));
        Assert.Equal($"in {file.Path}", config.SourceOf("SafeHaven:Probe:Datacenter"));
    }

    [Theory]
    [InlineData("SafeHaven:\n  Probe:\n    Perod: \"00:00:02\"\n", "SafeHaven:Probe:Perod", "unknown key")]
    [InlineData("SafeHaven:\n  Probe:\n    Period: soon\n", "SafeHaven:Probe:Period", "'soon' is not a duration")]
    [InlineData("SafeHaven:\n  Kafka:\n    Partitions: three\n", "SafeHaven:Kafka:Partitions", "'three' is not an integer")]
    [InlineData("SafeHaven:\n  Siem:\n    Format: xml\n", "SafeHaven:Siem:Format", "'xml' is not one of Ocsf, Ecs")]
    [InlineData("SafeHaven:\n  Siem:\n    Format: 1\n", "SafeHaven:Siem:Format", "'1' is not one of")]
    [InlineData("SafeHaven:\n  Kafka:\n    Security:\n      SaslPasword: x\n", "SafeHaven:Kafka:Security:SaslPasword", "unknown key")]
    [InlineData("SafeHaven:\n  Planer:\n    DryRun: true\n", "SafeHaven:Planer", "unknown section")]
    [InlineData("SafeHavn:\n  Planner:\n    DryRun: true\n", "SafeHavn", "unknown key")]
    [InlineData("SafeHaven:\n  Probe:\n    Period:\n      Seconds: 2\n", "SafeHaven:Probe:Period", "not a mapping or list")]
    [InlineData("SafeHaven:\n  Probe:\n    Pids: [1, x]\n", "SafeHaven:Probe:Pids:1", "'x' is not an integer")]
    [InlineData("SafeHaven:\n  Actuator:\n    IsolationCpus: \"1-x\"\n", "SafeHaven:Actuator:IsolationCpus", "is not a CpuList")]
    [InlineData("SafeHaven:\n  Probe:\n    EffectiveCounters: [x]\n", "SafeHaven:Probe:EffectiveCounters", "is not a setting")]
    [InlineData("SafeHaven:\n  Probe:\n    Rules: x\n", "SafeHaven:Probe:Rules", "is not a setting")]
    public void Bad_key_or_value_in_the_file_is_a_usage_error_naming_key_and_file(string yaml, string key, string problem)
    {
        using var file = new CliRunner.TempFile(yaml);
        var e = Assert.Throws<UsageException>(() => SafeHavenConfig.Load(new FileInfo(file.Path), NoEnvironment));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_value_from_the_environment_names_the_variable()
    {
        var e = Assert.Throws<UsageException>(() => SafeHavenConfig.Load(null, [new("SafeHaven:Planner:CommandTtl", "ten")]));
        Assert.Contains("SafeHaven:Planner:CommandTtl", e.Message, StringComparison.Ordinal);
        Assert.Contains("SAFEHAVEN__Planner__CommandTtl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_value_fails_validation_naming_key_and_file()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Detector:\n    Threads: 99\n    RulesFile: r.yaml\n");
        var config = SafeHavenConfig.Load(new FileInfo(file.Path), NoEnvironment);
        var detector = config.Bind<DetectorOptions>(DetectorOptions.SectionName);
        var e = Assert.Throws<UsageException>(() => config.Validate(DetectorOptions.SectionName, detector.Validate));
        Assert.Contains("SafeHaven:Detector:Threads", e.Message, StringComparison.Ordinal);
        Assert.Contains("got 99", e.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_or_missing_file_is_a_usage_error_naming_it()
    {
        using var yaml = new CliRunner.TempFile("SafeHaven:\n  Probe: [unclosed\n");
        Assert.Contains(yaml.Path, Assert.Throws<UsageException>(() => SafeHavenConfig.Load(new FileInfo(yaml.Path), NoEnvironment)).Message, StringComparison.Ordinal);
        using var json = new CliRunner.TempFile("{ \"SafeHaven\": ", ".json");
        Assert.Contains(json.Path, Assert.Throws<UsageException>(() => SafeHavenConfig.Load(new FileInfo(json.Path), NoEnvironment)).Message, StringComparison.Ordinal);
        var missing = Path.Combine(Path.GetTempPath(), "safehaven-no-such-" + Guid.NewGuid().ToString("N") + ".yaml");
        Assert.Contains("no such file", Assert.Throws<UsageException>(() => SafeHavenConfig.Load(new FileInfo(missing), NoEnvironment)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Binding_a_section_does_not_change_the_shared_record_bounds_default()
    {
        var config = SafeHavenConfig.Load(null, [new("SafeHaven:Kafka:Bounds:MaxIdLength", "17")]);
        Assert.Equal(17, config.Bind<KafkaOptions>(KafkaOptions.SectionName).Bounds.MaxIdLength);
        Assert.Equal(512, SafeHaven.Core.Bounds.RecordBounds.Default.MaxIdLength);
    }
}
