namespace SafeHaven.Actuators.Tests;

public sealed class CommandJournalTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-journal-");

    private string PathOf(string name) => Path.Combine(_dir.FullName, "a1", name);

    [Fact]
    public void Ids_survive_reopening_in_order_and_the_file_is_private()
    {
        var path = PathOf("executed-commands");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Empty(j.Executed);
            j.Append("c-1");
            j.Append("c-2");
        }
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-1", "c-2"], again.Executed);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_torn_last_line_is_dropped_so_a_partial_id_never_counts_as_executed()
    {
        var path = PathOf("torn");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "c-1\nc-2\nc-3-half");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Equal(["c-1", "c-2"], j.Executed);
            j.Append("c-4");
        }
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-1", "c-2", "c-4"], again.Executed);
        Assert.Equal("c-1\nc-2\nc-4\n", File.ReadAllText(path));
    }

    [Fact]
    public void Invalid_ids_are_refused_and_skipped()
    {
        var path = PathOf("bad");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Throws<ArgumentException>(() => j.Append("c-1\nc-forged"));
        }
        File.AppendAllText(path, "../../etc\nc-ok\n");
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-ok"], again.Executed);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
