namespace SafeHaven.Kafka.Topics;

/// <summary>Kafka's own topic-name rules, checked up front so callers get a readable error.</summary>
internal static class TopicNameRules
{
    internal const int MaxLength = 249;

    /// <summary>Describes why <paramref name="name"/> is not a legal topic name, or returns null.</summary>
    internal static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "a topic name must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"topic name is {name.Length} characters long; Kafka allows at most {MaxLength}";
        }

        if (name is "." or "..")
        {
            return $"'{name}' is reserved and cannot be a topic name";
        }

        foreach (var c in name)
        {
            if (!IsLegal(c))
            {
                return $"topic name '{name}' contains illegal character '{c}' (U+{(int)c:X4}); Kafka allows only [a-zA-Z0-9._-]";
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem if the name is illegal.</summary>
    internal static void Validate(string? name, string paramName)
    {
        if (Problem(name) is { } problem)
        {
            throw new ArgumentException($"Invalid Kafka topic name: {problem}.", paramName);
        }
    }

    internal static bool IsLegal(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-';
}
