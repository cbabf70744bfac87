using SafeHaven.Schemas.Generator;

namespace SafeHaven.Schemas.Tests;

/// <summary>The checked-in C# records are exactly what the generator makes of schemas/*.avsc.</summary>
public sealed class GeneratedCodeTests
{
    private static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string here = "")
    {
        // The test's own source path: robust wherever the binaries were built.
        var dir = new DirectoryInfo(Path.GetDirectoryName(here)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void Generated_code_matches_the_avsc_files()
    {
        var root = RepoRoot();
        var expected = SchemaGenerator.Generate(Path.Combine(root, "schemas"));
        var generatedDir = Path.Combine(root, "schemas", "SafeHaven.Schemas", "Generated");
        var actual = Directory.GetFiles(generatedDir, "*.g.cs").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (file, code) in expected)
        {
            Assert.True(code == actual[file], $"{file} is stale: run: dotnet run --project schemas/SafeHaven.Schemas.Generator");
        }
    }

    [Fact]
    public void A_changed_schema_changes_the_generated_code()
    {
        // Guards the drift test itself: an edit to a contract must show up in the output.
        var root = RepoRoot();
        var temp = Directory.CreateTempSubdirectory("safehaven-schemas-");
        try
        {
            foreach (var f in Directory.GetFiles(Path.Combine(root, "schemas"), "*.avsc"))
            {
                File.Copy(f, Path.Combine(temp.FullName, Path.GetFileName(f)));
            }
            var path = Path.Combine(temp.FullName, "DeadLetter.avsc");
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"name\": \"reason\"", "\"name\": \"why\"", StringComparison.Ordinal));

            var original = SchemaGenerator.Generate(Path.Combine(root, "schemas"));
            var changed = SchemaGenerator.Generate(temp.FullName);

            Assert.NotEqual(original["DeadLetter.g.cs"], changed["DeadLetter.g.cs"]);
            Assert.Contains(" why", changed["DeadLetter.g.cs"], StringComparison.Ordinal);
            Assert.Equal(original["EntityRef.g.cs"], changed["EntityRef.g.cs"]);
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public void Every_field_of_every_contract_has_a_doc()
    {
        foreach (var (file, schema, _) in SchemaGenerator.ParseAll(Path.Combine(RepoRoot(), "schemas")))
        {
            var record = Assert.IsType<Avro.RecordSchema>(schema);
            Assert.Equal("safehaven.v1", record.Namespace);
            Assert.False(string.IsNullOrWhiteSpace(record.Documentation), $"{file}: record has no doc");
            foreach (var field in record.Fields)
            {
                Assert.False(string.IsNullOrWhiteSpace(field.Documentation), $"{file}: field {field.Name} has no doc");
            }
        }
    }

    [Fact]
    public void Contract_schemas_ship_inside_the_records_assembly()
    {
        Assert.Equal(
            ["ActionLease", "CounterSample", "DeadLetter", "Detection", "EntityRef", "EntityState", "IsolationCommand", "IsolationResult", "SampleBatch", "SampleEntry",
                "SlotMember", "SlotRecord", "SlotReservation", "TraceRecord"],
            ContractSchemas.All.Keys.Order(StringComparer.Ordinal));
    }
}
