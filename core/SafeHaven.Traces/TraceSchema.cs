using Avro;
using SafeHaven.Schemas;

namespace SafeHaven.Traces;

/// <summary>The writer schema of a trace file: the contract <c>safehaven.v1.TraceRecord</c> with every record it names.</summary>
public static class TraceSchema
{
    /// <summary>The contract schema.</summary>
    public static Schema Contract { get; } = ContractSchemas.Get(nameof(TraceRecord));

    /// <summary>Its JSON, as written into a file's <c>avro.schema</c>.</summary>
    public static string Text { get; } = Contract.ToString();

    /// <summary>CRC-64-AVRO fingerprint of its parsing canonical form.</summary>
    public static long Fingerprint { get; } = SchemaNormalization.ParsingFingerprint64(Contract);

    /// <summary>Fingerprint of the contract <c>safehaven.v1.CounterSample</c>: files of bare samples are read as traces too.</summary>
    public static long SampleFingerprint { get; } = SchemaNormalization.ParsingFingerprint64(ContractSchemas.Get(nameof(CounterSample)));
}
