using Avro;
using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>The writer schema of a trace file: the contract <c>safehaven.v1.TraceRecord</c> with every record it names.</summary>
public static partial class TraceSchema
{
    /// <summary>The contract schema.</summary>
    public static Schema Contract { get; } = ContractSchemas.Get(nameof(TraceRecord));

    /// <summary>Its JSON, as written into a file's <c>avro.schema</c>.</summary>
    public static string Text { get; } = Contract.ToString();

    /// <summary>CRC-64-AVRO fingerprint of its parsing canonical form.</summary>
    public static long Fingerprint { get; } = SchemaNormalization.ParsingFingerprint64(Contract);

    /// <summary>Fingerprint of the contract <c>safehaven.v1.CounterSample</c>: files of bare samples are read as traces too.</summary>
    public static long SampleFingerprint { get; } = SchemaNormalization.ParsingFingerprint64(ContractSchemas.Get(nameof(CounterSample)));

    /// <summary>
    /// Fingerprints of earlier versions of the contract that a reader still accepts, decoding them by Avro's schema
    /// resolution (fields added since take their defaults): B8D67FA26030B7A5 is the contract before <c>cluster</c>
    /// (on the trace record, its detections and results) was added; the bundled traces under tests/traces hold it.
    /// </summary>
    public static IReadOnlySet<long> EarlierFingerprints { get; } = new HashSet<long> { unchecked((long)0xB8D67FA26030B7A5) };

    /// <summary>
    /// True for a file of bare samples; throws when the schema is neither a trace's nor a sample's.
    /// <paramref name="writer"/> is the file's own schema when it is an earlier version of the contract, else null.
    /// </summary>
    internal static bool IsBareSamples(string name, string text, out Schema? writer)
    {
        writer = null;
        if (text == Text)
        {
            return false;
        }
        Schema schema;
        long fingerprint;
        try
        {
            schema = Schema.Parse(text);
            fingerprint = SchemaNormalization.ParsingFingerprint64(schema);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Apache.Avro fails on malformed schemas with JSON, Avro and even null-reference errors: all mean the same here.
            throw new TraceFormatException($"{name}: the header's avro.schema does not parse: {e.Message}", e);
        }
        if (fingerprint == Fingerprint)
        {
            return false;
        }
        if (fingerprint == SampleFingerprint)
        {
            return true;
        }
        if (EarlierFingerprints.Contains(fingerprint))
        {
            // Resolution matches records by full name, and the generated classes live in SafeHaven.Schemas (the contract
            // names safehaven.v1): the same schema under the classes' namespace. The binary encoding has no names.
            writer = Schema.Parse(ContractNamespace().Replace(text, "\"namespace\":\"SafeHaven.Schemas\""));
            return false;
        }
        var what = schema is NamedSchema named ? $"records of {named.Fullname}" : $"a {schema.Tag} schema";
        throw new TraceFormatException(
            $"{name}: schema mismatch: the file holds {what} (fingerprint {fingerprint:X16}); a trace holds safehaven.v1.TraceRecord " +
            $"({Fingerprint:X16}, schemas/TraceRecord.avsc) or bare safehaven.v1.CounterSample ({SampleFingerprint:X16})");
    }

    [System.Text.RegularExpressions.GeneratedRegex("\"namespace\"\\s*:\\s*\"safehaven\\.v1\"")]
    private static partial System.Text.RegularExpressions.Regex ContractNamespace();
}
