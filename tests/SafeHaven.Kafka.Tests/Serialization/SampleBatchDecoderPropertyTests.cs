using CsCheck;
using SafeHaven.Core;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// The span decoder against Apache.Avro's generic reader: on random valid batches (one decoder over a sequence,
/// so its caches of hosts, counter names and processes are hit and invalidated), every entry equals the generic
/// reader's expanded <see cref="CounterSample"/>; on truncated or corrupted bytes it either fails the batch with an
/// <see cref="AvroDecodeException"/> or decodes exactly what the generic reader decodes, never anything else.
/// </summary>
public sealed class SampleBatchDecoderPropertyTests
{
    private static readonly SingleObjectCodec<SampleBatch> Codec = new();

    private static readonly Gen<(SampleBatch[] Batches, int Seed)> Sequences = Gen.Select(SampleBatchGen.Batch.Array[1, 6], Gen.Int);

    [Fact]
    public void Random_valid_batches_decode_as_the_generic_reader_reads_them() =>
        Sequences.Sample(s =>
        {
            var decoder = new SampleBatchDecoder();
            var cuts = new Random(s.Seed);
            foreach (var batch in s.Batches)
            {
                // Apache.Avro's writer (one block per array) and ours (several blocks, negative counts) alike.
                var bytes = cuts.Next(2) == 0 ? Codec.Encode(batch) : SampleBatchGen.EncodeInBlocks(batch, cuts);
                AssertSame(Codec.Decode(bytes), decoder, decoder.Decode(bytes));
            }
        }, iter: 2000);

    [Fact]
    public void A_truncated_batch_fails_whole_and_the_decoder_still_decodes_the_next() =>
        Gen.Select(SampleBatchGen.Batch, Gen.Double[0, 1]).Sample(x =>
        {
            var bytes = Codec.Encode(x.Item1);
            var cut = SingleObjectCodec<SampleBatch>.HeaderLength + (int)(x.Item2 * (bytes.Length - SingleObjectCodec<SampleBatch>.HeaderLength - 1));
            var decoder = new SampleBatchDecoder();
            Assert.Throws<AvroDecodeException>(() => decoder.Decode(bytes[..cut]));
            Assert.Equal(0, decoder.Count);
            AssertSame(Codec.Decode(bytes), decoder, decoder.Decode(bytes));
        }, iter: 1000);

    [Fact]
    public void Corrupt_bytes_fail_cleanly_or_decode_as_the_generic_reader_reads_them() =>
        Gen.Select(SampleBatchGen.Batch, Gen.Int, Gen.Int[1, 4]).Sample(x =>
        {
            var bytes = Codec.Encode(x.Item1);
            var random = new Random(x.Item2);
            for (var i = 0; i < x.Item3; i++)
            {
                bytes[random.Next(SingleObjectCodec<SampleBatch>.HeaderLength, bytes.Length)] = (byte)random.Next(256);
            }
            var decoder = new SampleBatchDecoder();
            int count;
            try
            {
                count = decoder.Decode(bytes);
            }
            catch (AvroDecodeException)
            {
                return; // the batch is one dead letter
            }
            // Whatever the span decoder accepts is a valid encoding: the generic reader must read the same.
            AssertSame(Codec.Decode(bytes), decoder, count);
        }, iter: 3000);

    private static void AssertSame(SampleBatch expected, SampleBatchDecoder decoder, int count)
    {
        Assert.Equal(expected.samples.Count, count);
        Assert.Equal(expected.host, decoder.Host);
        Assert.Equal(expected.droppedSamples, decoder.DroppedSamples);
        Assert.Equal(ValidHost(expected), decoder.HostProblem is null);
        for (var i = 0; i < count; i++)
        {
            var view = decoder[i];
            Assert.Equal(expected.counters, view.Counters);
            if (expected.samples[i].values.Count != expected.counters.Count)
            {
                Assert.NotNull(view.DecodeProblem);
                continue;
            }
            Assert.Null(view.DecodeProblem);
            RecordAssert.Equal(SampleBatches.Expand(expected, i), view.ToCounterSample(i == 0 ? decoder.DroppedSamples : 0), $"entry {i}");
            if (decoder.HostProblem is null && expected.samples[i].pid is { } pid && pid is >= 1 and <= 4_194_304)
            {
                Assert.Equal(EntityIds.Within(EntityIds.OfHost(expected.datacenter, expected.host), pid, null, null), view.EntityId);
            }
        }
    }

    private static bool ValidHost(SampleBatch b)
    {
        try
        {
            EntityIds.OfHost(b.datacenter, b.host);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
