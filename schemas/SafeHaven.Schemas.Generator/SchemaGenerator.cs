using System.Text;
using Avro;

namespace SafeHaven.Schemas.Generator;

/// <summary>
/// Turns the <c>.avsc</c> contracts into C# source with Apache.Avro's <see cref="CodeGen"/>.
/// The files are parsed together (one <see cref="SchemaNames"/>) because records refer to
/// each other across files, e.g. every record embeds <c>safehaven.v1.EntityRef</c>.
/// </summary>
public static class SchemaGenerator
{
    /// <summary>The Avro namespace of every contract and the C# namespace it maps to.</summary>
    public static readonly KeyValuePair<string, string> NamespaceMapping = new("safehaven.v1", "SafeHaven.Schemas");

    /// <summary>Parses every <c>*.avsc</c> under <paramref name="schemasDirectory"/>, dependencies first.</summary>
    public static IReadOnlyList<(string File, Schema Schema, string Text)> ParseAll(string schemasDirectory) =>
        ContractSchemas.ParseInOrder(Directory.GetFiles(schemasDirectory, "*.avsc")
            .Select(f => (Path.GetFileName(f), File.ReadAllText(f))));

    /// <summary>Generates the C# files: file name → content, deterministic for the same input.</summary>
    public static SortedDictionary<string, string> Generate(string schemasDirectory)
    {
        // One union of every record, dependencies first, so that cross-file references
        // resolve in a single parse and the namespace mapping applies to all of them.
        var union = "[" + string.Join(",", ParseAll(schemasDirectory).Select(s => s.Text)) + "]";
        var codegen = new CodeGen();
        codegen.AddSchema(union, [NamespaceMapping]);
        codegen.GenerateCode();
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (typeName, code) in codegen.GetTypes())
        {
            var shortName = typeName[(typeName.LastIndexOf('.') + 1)..];
            files[shortName + ".g.cs"] = Normalise(code);
        }
        return files;
    }

    // CodeDom stamps the runtime version into a header comment; drop it so output does not
    // depend on the SDK that ran the generator, and use \n line endings everywhere.
    private static string Normalise(string code)
    {
        var lines = code.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')
            .Where(l => !l.Contains("Runtime Version:", StringComparison.Ordinal));
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            sb.Append(line.TrimEnd()).Append('\n');
        }
        return sb.ToString().TrimEnd('\n') + "\n";
    }
}
