using System.Net;
using Confluent.SchemaRegistry;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// A Schema Registry held in memory, for tests (Confluent.SchemaRegistry has no <c>mock://</c>).
/// Like the real one: ids are global, the same schema text gets the same id under every subject,
/// versions count per subject from 1, and unknown ids or subjects fail with
/// <see cref="SchemaRegistryException"/> (HTTP 404, error codes 40401/40402/40403).
/// </summary>
/// <remarks>
/// Ids start at <see cref="FirstId"/>, chosen with four distinct non-zero bytes so that a test
/// can tell big-endian from little-endian on the wire. Thread-safe.
/// </remarks>
internal sealed class InMemorySchemaRegistryClient : ISchemaRegistryClient
{
    /// <summary>Id of the first schema registered.</summary>
    public const int FirstId = 0x0102_0304;

    private readonly Lock _gate = new();
    private readonly Dictionary<int, Schema> _byId = [];
    private readonly Dictionary<string, int> _idByText = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<int>> _versions = new(StringComparer.Ordinal); // subject → ids, version = index + 1
    private int _nextId = FirstId;

    public IEnumerable<KeyValuePair<string, string>> Config => [];

    public IAuthenticationHeaderValueProvider AuthHeaderProvider => null!;

    public IWebProxy Proxy => null!;

    public int MaxCachedSchemas => 1000;

    /// <summary>Subjects and, for each, the ids of its versions in order.</summary>
    public IReadOnlyDictionary<string, int[]> Subjects
    {
        get
        {
            lock (_gate)
            {
                return _versions.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The schema registered under <paramref name="id"/>.</summary>
    public Schema SchemaById(int id)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(id, out var s) ? s : throw SchemaNotFound(id);
        }
    }

    public Task<int> RegisterSchemaAsync(string subject, string avroSchema, bool normalize = false) =>
        RegisterSchemaAsync(subject, new Schema(avroSchema, SchemaType.Avro), normalize);

    public Task<int> RegisterSchemaAsync(string subject, Schema schema, bool normalize = false) =>
        Task.FromResult(Register(subject, schema).Id);

    public Task<RegisteredSchema> RegisterSchemaWithResponseAsync(string subject, Schema schema, bool normalize = false) =>
        Task.FromResult(Register(subject, schema));

    public Task<int> GetSchemaIdAsync(string subject, string avroSchema, bool normalize = false) =>
        GetSchemaIdAsync(subject, new Schema(avroSchema, SchemaType.Avro), normalize);

    public async Task<int> GetSchemaIdAsync(string subject, Schema schema, bool normalize = false) =>
        (await LookupSchemaAsync(subject, schema, true, normalize).ConfigureAwait(false)).Id;

    public Task<Schema> GetSchemaAsync(int id, string? format = null) => Task.FromResult(SchemaById(id));

    public Task<Schema> GetSchemaBySubjectAndIdAsync(string subject, int id, string? format = null) => GetSchemaAsync(id, format);

    public Task<Schema> GetSchemaByGuidAsync(string guid, string? format = null) =>
        throw new SchemaRegistryException($"schema guid '{guid}' not found (the in-memory registry has no guids)", HttpStatusCode.NotFound, 40403);

    public Task<RegisteredSchema> LookupSchemaAsync(string subject, Schema schema, bool ignoreDeletedSchemas, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(schema);
        lock (_gate)
        {
            if (!_versions.TryGetValue(subject, out var ids))
            {
                throw SubjectNotFound(subject);
            }
            if (!_idByText.TryGetValue(schema.SchemaString, out var id) || !ids.Contains(id))
            {
                throw new SchemaRegistryException($"schema not found under subject '{subject}'", HttpStatusCode.NotFound, 40403);
            }
            return Task.FromResult(Registered(subject, ids.IndexOf(id) + 1, id));
        }
    }

    public Task<RegisteredSchema> GetRegisteredSchemaAsync(string subject, int version, bool ignoreDeletedSchemas = true)
    {
        lock (_gate)
        {
            if (!_versions.TryGetValue(subject, out var ids))
            {
                throw SubjectNotFound(subject);
            }
            if (version < 1 || version > ids.Count)
            {
                throw new SchemaRegistryException($"version {version} not found under subject '{subject}'", HttpStatusCode.NotFound, 40402);
            }
            return Task.FromResult(Registered(subject, version, ids[version - 1]));
        }
    }

    [Obsolete("Superseded by GetRegisteredSchemaAsync(string subject, int version)")]
    public async Task<string> GetSchemaAsync(string subject, int version) =>
        (await GetRegisteredSchemaAsync(subject, version).ConfigureAwait(false)).SchemaString;

    public Task<RegisteredSchema> GetLatestSchemaAsync(string subject)
    {
        lock (_gate)
        {
            if (!_versions.TryGetValue(subject, out var ids) || ids.Count == 0)
            {
                throw SubjectNotFound(subject);
            }
            return Task.FromResult(Registered(subject, ids.Count, ids[^1]));
        }
    }

    public Task<RegisteredSchema> GetLatestWithMetadataAsync(string subject, IDictionary<string, string> metadata, bool ignoreDeletedSchemas) =>
        GetLatestSchemaAsync(subject);

    public Task<List<string>> GetAllSubjectsAsync()
    {
        lock (_gate)
        {
            return Task.FromResult(_versions.Keys.ToList());
        }
    }

    public Task<List<int>> GetSubjectVersionsAsync(string subject)
    {
        lock (_gate)
        {
            return _versions.TryGetValue(subject, out var ids)
                ? Task.FromResult(Enumerable.Range(1, ids.Count).ToList())
                : throw SubjectNotFound(subject);
        }
    }

    public Task<bool> IsCompatibleAsync(string subject, string avroSchema) => Task.FromResult(true);

    public Task<bool> IsCompatibleAsync(string subject, Schema schema) => Task.FromResult(true);

    [Obsolete("SubjectNameStrategy should now be specified via serializer configuration.")]
    public string ConstructKeySubjectName(string topic, string? recordType = null) => topic + "-key";

    [Obsolete("SubjectNameStrategy should now be specified via serializer configuration.")]
    public string ConstructValueSubjectName(string topic, string? recordType = null) => topic + "-value";

    public Task<Compatibility> GetCompatibilityAsync(string? subject = null) => Task.FromResult(Compatibility.Backward);

    public Task<Compatibility> UpdateCompatibilityAsync(Compatibility compatibility, string? subject = null) => Task.FromResult(compatibility);

    // Confluent's 2.16 subject name strategy asks for associations first: there are none here.
    public Task<List<Association>> GetAssociationsByResourceNameAsync(string resourceName, string resourceNamespace,
        string resourceType, List<string> associationTypes, string lifecycle, int offset, int limit) =>
        Task.FromResult(new List<Association>());

    public Task<AssociationResponse> CreateAssociationAsync(AssociationCreateOrUpdateRequest request) =>
        throw new NotSupportedException("the in-memory registry has no associations");

    public Task DeleteAssociationsAsync(string resourceId, string resourceType, List<string> associationTypes, bool cascadeLifecycle) =>
        throw new NotSupportedException("the in-memory registry has no associations");

    public void ClearLatestCaches() { }

    public void ClearCaches() { }

    public void Dispose() { }

    private RegisteredSchema Register(string subject, Schema schema)
    {
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentNullException.ThrowIfNull(schema);
        lock (_gate)
        {
            if (!_idByText.TryGetValue(schema.SchemaString, out var id))
            {
                id = _nextId++;
                _idByText[schema.SchemaString] = id;
                _byId[id] = new Schema(schema.SchemaString, schema.References ?? [], schema.SchemaType);
            }
            if (!_versions.TryGetValue(subject, out var ids))
            {
                _versions[subject] = ids = [];
            }
            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
            return Registered(subject, ids.IndexOf(id) + 1, id);
        }
    }

    // Caller holds _gate.
    private RegisteredSchema Registered(string subject, int version, int id)
    {
        var s = _byId[id];
        return new RegisteredSchema(subject, version, id, s.SchemaString, s.SchemaType, s.References ?? []);
    }

    private static SchemaRegistryException SubjectNotFound(string subject) =>
        new($"subject '{subject}' not found", HttpStatusCode.NotFound, 40401);

    private static SchemaRegistryException SchemaNotFound(int id) =>
        new($"schema {id} not found", HttpStatusCode.NotFound, 40403);
}
