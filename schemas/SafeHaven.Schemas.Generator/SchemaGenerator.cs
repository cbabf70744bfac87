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

    /// <summary>
    /// Parses every <c>*.avsc</c> under <paramref name="schemasDirectory"/> and returns them
    /// dependencies first, each with its file's own text.
    /// </summary>
    public static IReadOnlyList<(Schema Schema, string Text)> ParseAll(string schemasDirectory)
    {
        var pending = Directory.GetFiles(schemasDirectory, "*.avsc")
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToDictionary(f => f, File.ReadAllText);
        var ordered = new List<(Schema, string)>();
        // A file parses once the records it names are known. A failed parse can leave its own
        // name registered, so every attempt starts from fresh names and the accepted prefix.
        while (pending.Count > 0)
        {
            var lastError = "";
            var accepted = false;
            foreach (var (file, text) in pending)
            {
                try
                {
                    var union = (UnionSchema)ParseUnion(ordered.Select(o => o.Item2).Append(text));
                    ordered.Add((union.Schemas[^1], text));
                    pending.Remove(file);
                    accepted = true;
                    break;
                }
                catch (SchemaParseException e)
                {
                    lastError = $"{Path.GetFileName(file)}: {e.Message}";
                }
            }
            if (!accepted)
            {
                throw new InvalidDataException($"schemas do not parse: {lastError}");
            }
        }
        return ordered;
    }

    /// <summary>Parses several schema texts as one union, so later ones may name earlier ones.</summary>
    public static Schema ParseUnion(IEnumerable<string> texts) =>
        Schema.Parse("[" + string.Join(",", texts) + "]", new SchemaNames(), null);

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
