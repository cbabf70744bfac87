using SafeHaven.Kafka.DeadLetters;

namespace SafeHaven.Kafka.Tests.DeadLetters;

/// <summary>The <c>reason</c> tag of <c>safehaven.dlq.records</c>: a few classes, whatever free text a reason has.</summary>
public sealed class DeadLetterReasonClassTests
{
    [Theory]
    [InlineData("unsigned samples record", "seal")]
    [InlineData("bad MAC on a samples record of 'dc1/h1': altered, moved from another topic, or not sealed by that host's key", "seal")]
    [InlineData("CounterSample out of bounds: rate is NaN", "out_of_bounds")]
    [InlineData("SampleBatch: no Avro single-object marker C3 01 (got 00 01)", "undecodable")]
    [InlineData("Detection: unknown writer schema fingerprint 0000000000000001 (expected 1234)", "undecodable")]
    [InlineData("SampleBatch: 3 bytes is shorter than the single-object header", "undecodable")]
    [InlineData("invalid machine id in entity", "invalid")]
    [InlineData("pid 1 (init) is never moved", "invalid")]
    [InlineData("", "unknown")]
    public void A_reason_falls_in_its_class(string reason, string expected) => Assert.Equal(expected, DeadLetterMetrics.ReasonClass(reason));

    [Fact]
    public void Hostile_free_text_never_becomes_a_tag_value_of_its_own()
    {
        string[] classes = ["seal", "out_of_bounds", "undecodable", "invalid", "unknown"];
        foreach (var reason in new[] { new string('x', 100_000), "a\"b}\nc{d=\"e\"", "\u0000\u202e", "SEAL", "décodé" })
        {
            Assert.Contains(DeadLetterMetrics.ReasonClass(reason), classes);
        }
    }
}
