using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using SafeHaven.Kafka.Configuration;

namespace SafeHaven.Cli.Configuration;

/// <summary>
/// The settings of one run, in precedence order: the options classes' defaults, then the <c>--config</c> file (JSON,
/// or YAML for <c>.yaml</c>/<c>.yml</c>), then <c>SAFEHAVEN__&lt;Component&gt;__&lt;Key&gt;</c> environment variables,
/// then the flags the user actually typed (<see cref="Flag{T}"/>): a flag left at its default never overrides the
/// file. Every error names the key and where its value came from, and is a usage error (exit 2). The whole
/// configuration is checked when it is loaded, whatever the verb: a key no options class has (a typo) or a value that
/// does not convert fails before anything starts, since a security tool must not run on a setting it silently ignored.
/// </summary>
internal sealed partial class SafeHavenConfig
{
    /// <summary>Prefix of the environment variables, as Microsoft.Extensions.Configuration spells it.</summary>
    public const string EnvironmentPrefix = "SAFEHAVEN__";

    /// <summary>Root of every section.</summary>
    public const string Root = "SafeHaven";

    private static readonly ConditionalWeakTable<ParseResult, SafeHavenConfig> Loaded = [];

    private readonly IConfigurationRoot _root;
    private readonly string? _file;
    private readonly Dictionary<string, string> _flags = new(StringComparer.OrdinalIgnoreCase);

    private SafeHavenConfig(IConfigurationRoot root, string? file)
    {
        _root = root;
        _file = file;
    }

    /// <summary>The layered configuration (file, then environment), for the libraries' <c>AddSafeHaven…(IConfiguration)</c>.</summary>
    public IConfiguration Configuration => _root;

    /// <summary>This run's settings (<c>--config</c>, the environment), loaded and checked once per parse.</summary>
    public static SafeHavenConfig Of(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return Loaded.GetValue(parse, p => Load(p.GetValue(Commands.CommonOptions.ConfigFile)));
    }

    /// <summary>
    /// Loads the file (if any) and the environment, and checks every key of every section; a missing or unreadable
    /// file, an unknown key or a value that does not convert is a usage error naming the key and its source.
    /// </summary>
    public static SafeHavenConfig Load(FileInfo? file, IEnumerable<KeyValuePair<string, string?>>? environment = null)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            if (!file.Exists)
            {
                throw new UsageException($"--config {file.FullName}: no such file");
            }
            var yaml = file.Extension.Equals(".yaml", StringComparison.OrdinalIgnoreCase) || file.Extension.Equals(".yml", StringComparison.OrdinalIgnoreCase);
            if (yaml)
            {
                builder.AddYamlFile(file.FullName, optional: false, reloadOnChange: false);
            }
            else
            {
                builder.AddJsonFile(file.FullName, optional: false, reloadOnChange: false);
            }
        }
        // The provider strips the prefix (SAFEHAVEN__Probe__Period → Probe:Period); the sections live under SafeHaven:.
        builder.Add(new MemoryConfigurationSource { InitialData = environment ?? EnvironmentKeys() });
        SafeHavenConfig config;
        try
        {
            config = new SafeHavenConfig(builder.Build(), file?.FullName);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or UnauthorizedAccessException || IsYamlError(e))
        {
            throw new UsageException($"--config {file?.FullName}: not valid {(file?.Extension is ".json" ? "JSON" : "JSON or YAML")}: {e.InnerException?.Message ?? e.Message}", e);
        }
        config.Verify();
        return config;
    }

    // YamlDotNet's errors (syntax, semantics) all derive from its YamlException; the provider lets them through.
    private static bool IsYamlError(Exception e)
    {
        for (var t = e.GetType(); t is not null; t = t.BaseType)
        {
            if (t.Name == "YamlException")
            {
                return true;
            }
        }
        return e.InnerException is { } inner && IsYamlError(inner);
    }

    /// <summary>
    /// The <c>SAFEHAVEN__…</c> variables of this process as <c>SafeHaven:…</c> keys. The provider strips the prefix
    /// (SAFEHAVEN__Probe__Period → Probe:Period); the sections live under SafeHaven:.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> EnvironmentKeys()
    {
        var env = new EnvironmentVariablesConfigurationProvider(EnvironmentPrefix);
        env.Load();
        return [.. Keys(env).Select(k => new KeyValuePair<string, string?>($"{Root}:{k}", env.TryGet(k, out var v) ? v : null))];
    }

    // Only SafeHaven: at the top, only known sections under it, and every key of those strictly checked.
    private void Verify()
    {
        foreach (var top in _root.GetChildren())
        {
            if (!top.Key.Equals(Root, StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"{top.Path} ({SourceOf(top.Path)}): unknown key; the file holds one section, {Root}:");
            }
            foreach (var section in top.GetChildren())
            {
                var known = ConfigSections.All.FirstOrDefault(s => s.Name.Equals(section.Path, StringComparison.OrdinalIgnoreCase));
                if (known.Type is null)
                {
                    throw new UsageException($"{section.Path} ({SourceOf(section.Path)}): unknown section; {Root}: has {string.Join(", ", ConfigSections.All.Select(s => s.Name[(Root.Length + 1)..]))}");
                }
                try
                {
                    SectionBinder.Verify(_root, known.Name, known.Type);
                }
                catch (ConfigurationKeyException e)
                {
                    throw new UsageException($"{e.Key} ({SourceOf(e.Key)}): {e.Problem}", e);
                }
            }
        }
    }

    /// <summary>A section bound strictly onto a fresh <typeparamref name="T"/>; an error names the key and its source.</summary>
    public T Bind<T>(string section) where T : class, new()
    {
        try
        {
            return SectionBinder.Bind<T>(_root, section);
        }
        catch (ConfigurationKeyException e)
        {
            throw new UsageException($"{e.Key} ({SourceOf(e.Key)}): {e.Problem}", e);
        }
    }

    /// <summary>
    /// Applies <paramref name="option"/> to <paramref name="key"/> when the user typed it (not when it holds its
    /// default), and remembers that the key now comes from the flag.
    /// </summary>
    public void Flag<T>(ParseResult parse, Option<T> option, string key, Action<T> apply)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(apply);
        if (Passed(parse, option))
        {
            apply(parse.GetValue(option)!);
            _flags[key] = option.Name;
        }
    }

    /// <summary>True when the user typed the option (a default value does not count).</summary>
    public static bool Passed(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>
    /// Runs an options class's Validate; its error becomes a usage error that says where the key it names (or, when it
    /// names none, <paramref name="section"/>) got its value.
    /// </summary>
    public void Validate(string section, Action validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw Explain(e, section);
        }
    }

    /// <summary>
    /// An options class's validation error as a usage error saying where the key it names (or, when it names none,
    /// <paramref name="section"/>) got its value.
    /// </summary>
    public UsageException Explain(ArgumentException e, string section)
    {
        ArgumentNullException.ThrowIfNull(e);
        var key = KeyIn().Matches(e.Message).Select(m => m.Value).LastOrDefault() ?? section;
        var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        return new UsageException($"{message} ({SourceOf(key)})", e);
    }

    /// <summary>True when <paramref name="key"/> (or a key under it) is set by the file or the environment.</summary>
    public bool IsSet(string key) => _root.Providers.Any(p => p.TryGet(key, out _) || p.GetChildKeys([], key).Any());

    /// <summary>Where <paramref name="key"/> (or a key under it) got its value: a flag, the file, the environment or the default.</summary>
    public string SourceOf(string key)
    {
        foreach (var (k, flag) in _flags)
        {
            if (key.Equals(k, StringComparison.OrdinalIgnoreCase) || k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase))
            {
                return $"from flag {flag}";
            }
        }
        foreach (var provider in _root.Providers.Reverse())
        {
            if (provider.TryGet(key, out _) || provider.GetChildKeys([], key).Any())
            {
                return provider is MemoryConfigurationProvider
                    ? $"from environment variable {EnvironmentPrefix}{key[(Root.Length + 1)..].Replace(":", "__", StringComparison.Ordinal)}"
                    : $"in {_file}";
            }
        }
        return _file is null ? "the default" : $"the default; not set in {_file}";
    }

    private static IEnumerable<string> Keys(IConfigurationProvider provider, string? parent = null)
    {
        foreach (var child in provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var path = parent is null ? child : $"{parent}:{child}";
            if (provider.TryGet(path, out _))
            {
                yield return path;
            }
            foreach (var deeper in Keys(provider, path))
            {
                yield return deeper;
            }
        }
    }

    [GeneratedRegex(@"SafeHaven(:[A-Za-z0-9_]+)+")]
    private static partial Regex KeyIn();
}
