using SafeHaven.Schemas.Generator;

// Usage: SafeHaven.Schemas.Generator [SCHEMAS_DIR] [OUTPUT_DIR]
var schemas = args.Length > 0 ? args[0] : "schemas";
var output = args.Length > 1 ? args[1] : Path.Combine(schemas, "SafeHaven.Schemas", "Generated");
try
{
    var files = SchemaGenerator.Generate(schemas);
    Directory.CreateDirectory(output);
    foreach (var stale in Directory.GetFiles(output, "*.g.cs"))
    {
        File.Delete(stale);
    }
    foreach (var (name, code) in files)
    {
        File.WriteAllText(Path.Combine(output, name), code);
    }
    Console.Error.WriteLine($"generated {files.Count} files into {output}");
    return 0;
}
catch (Exception e) when (e is InvalidDataException or IOException or Avro.AvroException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
