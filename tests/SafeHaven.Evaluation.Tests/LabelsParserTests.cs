namespace SafeHaven.Evaluation.Tests;

public class LabelsParserTests
{
    [Fact]
    public void Parses_header_comments_and_both_labels()
    {
        var labels = LabelsParser.Parse("host,pid,label,onsetNs\n# the sender\nh1,42,channel,1700000000000000000\r\n\nh1,7,benign,\n", "l.csv");

        Assert.Equal(2, labels.Count);
        Assert.Equal(new ProcessLabel("h1", 42, LabelKind.Channel, 1_700_000_000_000_000_000, 3), labels[0]);
        Assert.Equal(new ProcessLabel("h1", 7, LabelKind.Benign, 0, 5), labels[1]);
    }

    [Theory]
    [InlineData("h1,42,channel", 1, "expected 4 fields")]
    [InlineData("host,pid,label,onsetNs\nh1,42,covert,5", 2, "label 'covert' must be 'channel' or 'benign'")]
    [InlineData("h1,0,benign,", 1, "pid '0' is not a valid pid")]
    [InlineData("h1,abc,benign,", 1, "pid 'abc'")]
    [InlineData("../etc,1,benign,", 1, "host '../etc' is not a valid host id")]
    [InlineData("h1,1,channel,", 1, "a channel label needs onsetNs")]
    [InlineData("h1,1,channel,-5", 1, "onsetNs '-5'")]
    [InlineData("h1,1,channel,1e9", 1, "onsetNs '1e9'")]
    [InlineData("h1,1,benign,\n# x\nh1,1,channel,5", 3, "labelled twice (first at line 1)")]
    public void Refuses_a_bad_line_naming_file_and_line(string text, int line, string problem)
    {
        var e = Assert.Throws<LabelsFormatException>(() => LabelsParser.Parse(text, "l.csv"));

        Assert.Equal(line, e.LineNumber);
        Assert.StartsWith($"l.csv:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_labels_error()
    {
        var e = Assert.Throws<LabelsFormatException>(() => LabelsParser.Load("/nonexistent/labels.csv"));

        Assert.Contains("cannot read labels file", e.Message, StringComparison.Ordinal);
    }
}
