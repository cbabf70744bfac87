using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SafeHaven.Cli.Configuration;
using SafeHaven.Kafka.Configuration;

namespace SafeHaven.Cli.Tests.Configuration;

/// <summary>One setting a configuration may give: its full key, type, default and meaning (from the XML docs).</summary>
internal sealed record Setting(string Section, string Key, string Type, string Default, string Meaning)
{
    /// <summary>The key below its section, as the reference shows it.</summary>
    public string Relative => Key[(Section.Length + 1)..];
}

/// <summary>
/// Every setting of every options class in <see cref="ConfigSections.All"/>, found by reflection the way the binder
/// sees them, and the markdown reference of docs/OPERATIONS.md generated from them.
/// </summary>
internal static partial class ConfigReference
{
    public const string Begin = "<!-- config-reference:begin (generated from the options classes by ConfigReferenceTests; SAFEHAVEN_WRITE_REFERENCE=1 rewrites it) -->";
    public const string End = "<!-- config-reference:end -->";

    public static IReadOnlyList<Setting> Settings()
    {
        var all = new List<Setting>();
        foreach (var (name, type) in ConfigSections.All)
        {
            Walk(name, name, type, Activator.CreateInstance(type)!, all);
        }
        return all;
    }

    private static void Walk(string section, string path, Type type, object defaults, List<Setting> into)
    {
        foreach (var p in SectionBinder.Settings(type))
        {
            var key = $"{path}:{p.Name}";
            var value = p.GetValue(defaults);
            var element = SectionBinder.ElementOf(p.PropertyType);
            var listOfRecords = element is not null && !SectionBinder.IsScalar(element) && SectionBinder.ElementOf(element) is null && !IsDictionary(p.PropertyType);
            if (SectionBinder.IsScalar(p.PropertyType) || element is not null)
            {
                into.Add(new Setting(section, key, TypeName(p.PropertyType), Default(p, value), Meaning(p)));
                if (listOfRecords)
                {
                    Walk(section, key + "[]", element!, Activator.CreateInstance(element!)!, into);
                }
            }
            else
            {
                Walk(section, key, p.PropertyType, value ?? Activator.CreateInstance(p.PropertyType)!, into);
            }
        }
    }

    private static bool IsDictionary(Type t) => t.GetInterfaces().Append(t).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static string TypeName(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var optional = Nullable.GetUnderlyingType(type) is not null ? " (optional)" : "";
        return t switch
        {
            _ when t == typeof(TimeSpan) => "duration" + optional,
            _ when t == typeof(bool) => "bool",
            _ when t == typeof(string) => "string",
            _ when t == typeof(int) || t == typeof(long) || t == typeof(uint) => "integer" + optional,
            _ when t == typeof(double) => "number",
            _ when t.IsEnum => string.Join(" \\| ", Enum.GetNames(t)),
            _ when IsDictionary(t) => $"map of name → {TypeName(SectionBinder.ElementOf(t)!)}",
            _ when SectionBinder.ElementOf(t) is { } e => $"list of {(SectionBinder.IsScalar(e) || SectionBinder.ElementOf(e) is not null ? TypeName(e) : "mappings")}",
            _ => t.Name,
        };
    }

    private static string Default(PropertyInfo p, object? value)
    {
        // Host-dependent defaults: say what they are, not this machine's values.
        if (p.Name is "Id" or "HostId" && Equals(value, Environment.MachineName))
        {
            return "the host name";
        }
        if (p.Name == "InstanceId" && Equals(value, $"{Environment.MachineName}-{Environment.ProcessId}"))
        {
            return "host name-pid";
        }
        return value switch
        {
            null => "(none)",
            string s => $"`\"{s}\"`",
            TimeSpan t => $"`{t.ToString("c", CultureInfo.InvariantCulture)}`",
            bool b => b ? "`true`" : "`false`",
            IDictionary d => d.Count == 0 ? "`{}`" : "`{…}`",
            IEnumerable e when e.Cast<object>().Any() => $"`[{string.Join(", ", e.Cast<object>().Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)))}]`",
            IEnumerable => "`[]`",
            _ => $"`{Convert.ToString(value, CultureInfo.InvariantCulture)}`",
        };
    }

    private static readonly Dictionary<Assembly, XDocument?> Docs = [];

    private static string Meaning(PropertyInfo p)
    {
        var assembly = p.DeclaringType!.Assembly;
        if (!Docs.TryGetValue(assembly, out var doc))
        {
            var xml = Path.ChangeExtension(assembly.Location, ".xml");
            Docs[assembly] = doc = File.Exists(xml) ? XDocument.Load(xml) : null;
        }
        var id = $"P:{p.DeclaringType!.FullName!.Replace('+', '.')}.{p.Name}";
        var summary = doc?.Descendants("member").FirstOrDefault(m => (string?)m.Attribute("name") == id)?.Element("summary");
        if (summary is null)
        {
            return "(undocumented)";
        }
        var text = new StringBuilder();
        foreach (var node in summary.DescendantNodes())
        {
            switch (node)
            {
                case XText t when t.Parent?.Name == "c":
                    text.Append('`').Append(t.Value).Append('`');
                    break;
                case XText t:
                    text.Append(t.Value);
                    break;
                case XElement { Name.LocalName: "see" } see:
                    text.Append((string?)see.Attribute("langword") ?? Short((string?)see.Attribute("cref") ?? ""));
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } r:
                    text.Append((string?)r.Attribute("name"));
                    break;
                default:
                    break;
            }
        }
        return Spaces().Replace(text.ToString(), " ").Trim().Replace("|", "\\|", StringComparison.Ordinal);
    }

    private static string Short(string cref) => cref[(cref.LastIndexOf('.') + 1)..];

    /// <summary>The reference section: one table per section, between <see cref="Begin"/> and <see cref="End"/>.</summary>
    public static string Markdown()
    {
        var md = new StringBuilder().Append(Begin).Append('\n');
        foreach (var group in Settings().GroupBy(s => s.Section))
        {
            md.Append('\n').Append("#### `").Append(group.Key).Append("`\n\n");
            md.Append("| Key | Type | Default | Meaning |\n|---|---|---|---|\n");
            foreach (var s in group)
            {
                md.Append(CultureInfo.InvariantCulture, $"| `{s.Relative}` | {s.Type} | {s.Default} | {s.Meaning} |\n");
            }
        }
        return md.Append('\n').Append(End).ToString();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
