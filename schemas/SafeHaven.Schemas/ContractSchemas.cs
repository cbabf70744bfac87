using System.Reflection;
using Avro;

namespace SafeHaven.Schemas;

/// <summary>
/// The <c>.avsc</c> contracts (namespace <c>safehaven.v1</c>) exactly as they ship in
/// <c>schemas/</c>. The generated C# records carry a copy under the C# namespace; the wire
/// format's fingerprints are always computed from these, the public contracts.
/// </summary>
#if SCHEMA_GENERATOR
// The generator compiles this file too; kept internal there so the two assemblies never clash.
internal
#else
public
#endif
static class ContractSchemas
{
    private static readonly Lazy<IReadOnlyDictionary<string, Schema>> Embedded = new(LoadEmbedded);

    /// <summary>Contract schemas by record name (<c>CounterSample</c>, …).</summary>
    public static IReadOnlyDictionary<string, Schema> All => Embedded.Value;

    /// <summary>The contract schema of record <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such record.</exception>
    public static Schema Get(string name) => All.TryGetValue(name, out var s)
        ? s
        : throw new KeyNotFoundException($"no contract schema named '{name}'");

    /// <summary>
    /// Parses schema texts that may refer to each other by name, dependencies first, and returns
    /// them in that order with their source text. A failed parse can leave its own name behind in
    /// a <see cref="SchemaNames"/>, so every attempt starts from fresh names and the accepted prefix.
    /// </summary>
    /// <exception cref="InvalidDataException">Some text never parses; names the file and the reason.</exception>
    public static IReadOnlyList<(string File, Schema Schema, string Text)> ParseInOrder(IEnumerable<(string File, string Text)> files)
    {
        var pending = files.OrderBy(f => f.File, StringComparer.Ordinal).ToList();
        var ordered = new List<(string, Schema, string)>();
        while (pending.Count > 0)
        {
            var lastError = "";
            var accepted = -1;
            for (var i = 0; i < pending.Count && accepted < 0; i++)
            {
                try
                {
                    var union = (UnionSchema)ParseUnion(ordered.Select(o => o.Item3).Append(pending[i].Text));
                    ordered.Add((pending[i].File, union.Schemas[^1], pending[i].Text));
                    accepted = i;
                }
                catch (SchemaParseException e)
                {
                    lastError = $"{pending[i].File}: {e.Message}";
                }
            }
            if (accepted < 0)
            {
                throw new InvalidDataException($"schemas do not parse: {lastError}");
            }
            pending.RemoveAt(accepted);
        }
        return ordered;
    }

    /// <summary>Parses several schema texts as one union, so later ones may name earlier ones.</summary>
    public static Schema ParseUnion(IEnumerable<string> texts) =>
        Schema.Parse("[" + string.Join(",", texts) + "]", new SchemaNames(), null);

    private static Dictionary<string, Schema> LoadEmbedded()
    {
        var asm = typeof(ContractSchemas).Assembly;
        var files = asm.GetManifestResourceNames()
            .Where(n => n.StartsWith("schemas/", StringComparison.Ordinal) && n.EndsWith(".avsc", StringComparison.Ordinal))
            .Select(n => (n, Read(asm, n)));
        return ParseInOrder(files).ToDictionary(p => ((NamedSchema)p.Schema).Name, p => p.Schema, StringComparer.Ordinal);
    }

    private static string Read(Assembly asm, string name)
    {
        using var stream = asm.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
