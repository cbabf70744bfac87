namespace SafeHaven.Security.Tests;

public sealed class SigningTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-keys-");

    [Fact]
    public void Signed_command_verifies_and_any_change_breaks_it()
    {
        var id = SigningKeys.Generate(_dir.FullName);
        using var signer = SigningKeys.LoadSigner(Path.Combine(_dir.FullName, id + ".key"));
        var verifier = SigningKeys.LoadVerifier(_dir.FullName);
        var cmd = Commands.New();

        signer.Sign(cmd);

        Assert.Equal(id, cmd.keyId);
        Assert.Equal(64, cmd.signature.Length);
        Assert.Null(verifier.Problem(cmd));
        cmd.target = "0-3";
        Assert.StartsWith("bad signature", verifier.Problem(cmd), StringComparison.Ordinal);
    }

    [Fact]
    public void Unsigned_and_untrusted_commands_are_named_as_such()
    {
        SigningKeys.Generate(_dir.FullName);
        var verifier = SigningKeys.LoadVerifier(_dir.FullName);
        Assert.Equal("unsigned command", verifier.Problem(Commands.New()));

        using var stranger = CommandSigner.Ephemeral(out _);
        var forged = Commands.New();
        stranger.Sign(forged);
        Assert.Equal($"command signed by untrusted key '{stranger.KeyId}'", verifier.Problem(forged));
    }

    [Fact]
    public void Signature_under_another_trusted_key_id_is_rejected()
    {
        var a = SigningKeys.Generate(_dir.FullName);
        var b = SigningKeys.Generate(_dir.FullName);
        using var signerA = SigningKeys.LoadSigner(Path.Combine(_dir.FullName, a + ".key"));
        var verifier = SigningKeys.LoadVerifier(_dir.FullName);
        var cmd = Commands.New();
        signerA.Sign(cmd);

        cmd.keyId = b; // claims the other key: the canonical bytes and the key both change

        Assert.StartsWith("bad signature", verifier.Problem(cmd), StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_trusts_every_public_key_in_the_directory()
    {
        var old = SigningKeys.Generate(_dir.FullName);
        var fresh = SigningKeys.Generate(_dir.FullName);
        var verifier = SigningKeys.LoadVerifier(_dir.FullName);
        Assert.Equal(new[] { old, fresh }.Order(StringComparer.Ordinal), verifier.KeyIds.Order(StringComparer.Ordinal));
        foreach (var id in new[] { old, fresh })
        {
            using var s = SigningKeys.LoadSigner(Path.Combine(_dir.FullName, id + ".key"));
            var cmd = Commands.New();
            s.Sign(cmd);
            Assert.Null(verifier.Problem(cmd));
        }
    }

    [Fact]
    public void Private_key_is_created_0600_and_a_group_readable_one_is_refused()
    {
        var id = SigningKeys.Generate(_dir.FullName);
        var key = Path.Combine(_dir.FullName, id + ".key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));

        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var e = Assert.Throws<KeyFileException>(() => SigningKeys.LoadSigner(key));
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_and_malformed_key_files_are_clear_errors()
    {
        var missing = Path.Combine(_dir.FullName, "nope.key");
        Assert.Contains("cannot read", Assert.Throws<KeyFileException>(() => SigningKeys.LoadSigner(missing)).Message, StringComparison.Ordinal);

        var wrongHeader = Path.Combine(_dir.FullName, "x.pub");
        File.WriteAllText(wrongHeader, "SOMETHING ELSE\nAAAA\n");
        Assert.Contains("expected a 'SAFEHAVEN ED25519 PUBLIC KEY' file", Assert.Throws<KeyFileException>(() => SigningKeys.LoadVerifier(wrongHeader)).Message, StringComparison.Ordinal);

        File.WriteAllText(wrongHeader, "SAFEHAVEN ED25519 PUBLIC KEY\nnot base64!\n");
        Assert.Contains("not base64", Assert.Throws<KeyFileException>(() => SigningKeys.LoadVerifier(wrongHeader)).Message, StringComparison.Ordinal);

        File.WriteAllText(wrongHeader, "SAFEHAVEN ED25519 PUBLIC KEY\nAAAA\n");
        Assert.Contains("must be 32 bytes", Assert.Throws<KeyFileException>(() => SigningKeys.LoadVerifier(wrongHeader)).Message, StringComparison.Ordinal);

        var empty = Directory.CreateTempSubdirectory("safehaven-nokeys-");
        Assert.Contains("no planner .pub file", Assert.Throws<KeyFileException>(() => SigningKeys.LoadVerifier(empty.FullName)).Message, StringComparison.Ordinal);
        empty.Delete();
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
