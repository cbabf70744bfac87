using System.Reflection;
using System.Runtime.CompilerServices;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;

namespace SafeHaven.Actuators.Tests;

/// <summary>
/// The actuators' folders make dependencies point one way (issue 16): Agent/ uses no other folder; Host/, Container/
/// and Vm/ use Agent/ only, never each other (what they share belongs in Agent/ or in SafeHaven.Linux); Hosting/ may
/// use all. Checked by reflection over the compiled assembly, method bodies included (see <see cref="TypeReferences"/>).
/// </summary>
public sealed class LayoutTests
{
    private const string Root = "SafeHaven.Actuators";

    private static readonly Dictionary<string, string[]> OneWay = new(StringComparer.Ordinal)
    {
        ["Agent"] = [],
        ["Host"] = ["Agent"],
        ["Container"] = ["Agent"],
        ["Vm"] = ["Agent"],
        ["Hosting"] = ["Agent", "Host", "Container", "Vm"],
    };

    private static readonly Assembly Actuators = typeof(CommandGate).Assembly;

    [Fact]
    public void Every_type_is_in_a_layer_folder()
    {
        var outside = Ours(Actuators).Where(t => !OneWay.ContainsKey(Layer(t))).Select(t => t.FullName).ToList();
        Assert.True(outside.Count == 0, "types outside Agent/, Host/, Container/, Vm/, Hosting/:\n" + string.Join("\n", outside));
    }

    [Fact]
    public void Dependencies_point_one_way()
    {
        var violations = Violations(Actuators, OneWay);
        Assert.True(violations.Count == 0, "dependencies against the layering:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void A_use_only_inside_a_method_body_is_named_with_the_offending_type()
    {
        // ContainerMigrator calls SerialHeartbeat from method bodies only (async ones: state machines), never in a
        // signature: forbid Container → Agent and the check must name both types.
        var strict = new Dictionary<string, string[]>(OneWay, StringComparer.Ordinal) { ["Container"] = [] };
        var violations = Violations(Actuators, strict);
        var line = Assert.Single(violations, v => v.StartsWith(typeof(ContainerMigrator).FullName + " ", StringComparison.Ordinal)
            && v.Contains(typeof(SerialHeartbeat).FullName!, StringComparison.Ordinal));
        Assert.Contains("body of", line, StringComparison.Ordinal);
        Assert.DoesNotContain(Violations(Actuators, OneWay), v => v.Contains(nameof(ContainerMigrator), StringComparison.Ordinal));
    }

    [Fact]
    public void Folders_are_namespaces_in_the_actuators_and_their_tests()
    {
        var root = RepoRoot();
        var wrong = Mismatches(Path.Combine(root, "actuators", Root), Root)
            .Concat(Mismatches(Path.Combine(root, "tests", Root + ".Tests"), Root + ".Tests")).ToList();
        Assert.True(wrong.Count == 0, "files whose namespace is not their folder:\n" + string.Join("\n", wrong));
    }

    /// <summary>One line per (type, used type) pair that <paramref name="allowed"/> forbids, naming both and where.</summary>
    private static List<string> Violations(Assembly assembly, IReadOnlyDictionary<string, string[]> allowed)
    {
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<(Type, Type)>();
        foreach (var type in Ours(assembly))
        {
            var layer = Layer(type);
            var outer = Outermost(type);
            foreach (var (used, where) in TypeReferences.Of(type))
            {
                var usedLayer = used.Assembly == assembly && IsOurs(used) ? Layer(used) : null;
                if (usedLayer is null || usedLayer == layer || !allowed.TryGetValue(layer, out var may) || may.Contains(usedLayer)
                    || !seen.Add((outer, used)))
                {
                    continue;
                }
                var inner = type == outer ? "" : $" ({type.Name})";
                lines.Add($"{outer.FullName} ({layer}/) uses {used.FullName} ({usedLayer}/) in {where}{inner}");
            }
        }
        return [.. lines];
    }

    private static IEnumerable<Type> Ours(Assembly assembly) => assembly.GetTypes().Where(IsOurs);

    private static bool IsOurs(Type t) => t.Namespace is { } ns && (ns == Root || ns.StartsWith(Root + ".", StringComparison.Ordinal));

    // The first namespace segment under SafeHaven.Actuators; empty for the root namespace itself.
    private static string Layer(Type t) => t.Namespace!.Length == Root.Length ? "" : t.Namespace[(Root.Length + 1)..].Split('.')[0];

    private static Type Outermost(Type t) => t.DeclaringType is { } d ? Outermost(d) : t;

    private static IEnumerable<string> Mismatches(string projectDir, string rootNamespace)
    {
        foreach (var file in Directory.EnumerateFiles(projectDir, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(projectDir, Path.GetDirectoryName(file)!);
            var segments = relative == "." ? Array.Empty<string>() : relative.Split(Path.DirectorySeparatorChar);
            if (segments.Length > 0 && segments[0] is "bin" or "obj")
            {
                continue;
            }
            var expected = string.Join('.', segments.Prepend(rootNamespace));
            var declared = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal));
            if (declared != $"namespace {expected};")
            {
                yield return $"{Path.GetRelativePath(projectDir, file)}: '{declared}', expected 'namespace {expected};'";
            }
        }
    }

    private static string RepoRoot([CallerFilePath] string here = "")
    {
        // The test's own source path: robust wherever the binaries were built.
        var dir = new DirectoryInfo(Path.GetDirectoryName(here)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
