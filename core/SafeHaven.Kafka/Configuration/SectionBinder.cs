using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace SafeHaven.Kafka.Configuration;

/// <summary>
/// Binds a <c>SafeHaven:&lt;Component&gt;</c> configuration section onto an options class, strictly: a key the class
/// does not have (a typo), a value that does not convert (a TimeSpan, a number, an enum name) or a read-only setting
/// is an error naming the full key, where the plain binder would skip the key or fail without saying which one.
/// </summary>
public static class SectionBinder
{
    /// <summary>A fresh <typeparamref name="T"/> with its defaults, overridden by the section's keys.</summary>
    /// <exception cref="ConfigurationKeyException">A key is unknown or its value does not convert.</exception>
    public static T Bind<T>(IConfiguration configuration, string sectionName) where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(sectionName);
        var options = new T();
        Check(section, typeof(T));
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationKeyException(sectionName, e.Message);
        }
        return options;
    }

    /// <summary>
    /// Checks every key of <paramref name="sectionName"/> against <paramref name="type"/> without binding: unknown keys,
    /// values that do not convert, a mapping where a value belongs.
    /// </summary>
    /// <exception cref="ConfigurationKeyException">The first key at fault.</exception>
    public static void Verify(IConfiguration configuration, string sectionName, Type type)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(type);
        Check(configuration.GetSection(sectionName), type);
    }

    /// <summary>The settings of <paramref name="type"/> a configuration may give: public, writable or a collection to fill.</summary>
    public static IReadOnlyList<PropertyInfo> Settings(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<NotConfiguredAttribute>() is null)
            .Where(p => p.SetMethod is { IsPublic: true } || (p.GetMethod is { IsPublic: true } && IsMutableCollection(p.PropertyType)))];
    }

    /// <summary>True for a type bound from a single string value (not from child keys).</summary>
    public static bool IsScalar(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || (!IsCollection(type) && TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string)));
    }

    /// <summary>The element type of a list, or the value type of a string-keyed dictionary; null for anything else.</summary>
    public static Type? ElementOf(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type == typeof(string))
        {
            return null;
        }
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        var generic = type.GetInterfaces().Append(type).Where(i => i.IsGenericType && i.IsInterface).ToList();
        var dictionary = generic.FirstOrDefault(i => i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }
        return generic.FirstOrDefault(i => i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    // A get-only property the binder can still fill: a list or dictionary it can add to (not IReadOnlyList).
    private static bool IsMutableCollection(Type type) =>
        type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollection<>));

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    private static bool IsDictionary(Type type) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
        || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static void Check(IConfigurationSection section, Type type)
    {
        if (IsScalar(type))
        {
            CheckValue(section, type);
            return;
        }
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            // An empty mapping or list ("{}", "[]") arrives as an empty value: nothing to bind.
            if (!string.IsNullOrEmpty(section.Value))
            {
                throw new ConfigurationKeyException(section.Path, $"expects {Describe(type)}, not the value '{section.Value}'");
            }
            return;
        }
        if (IsCollection(type))
        {
            var element = ElementOf(type) ?? throw new ConfigurationKeyException(section.Path, $"{type.Name} cannot be configured");
            var dictionary = IsDictionary(type);
            foreach (var child in children)
            {
                if (!dictionary && !int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    throw new ConfigurationKeyException(child.Path, "a list expects items (- value), not a named key");
                }
                Check(child, element);
            }
            return;
        }
        var settings = Settings(type);
        foreach (var child in children)
        {
            var property = settings.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                var readOnly = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not null;
                throw new ConfigurationKeyException(child.Path, readOnly
                    ? "is not a setting (it is computed or set in code)"
                    : $"unknown key; {SectionName(section)} has {string.Join(", ", settings.Select(p => p.Name))}");
            }
            Check(child, property.PropertyType);
        }
    }

    private static string SectionName(IConfigurationSection section) => section.Path;

    private static void CheckValue(IConfigurationSection section, Type type)
    {
        if (section.GetChildren().Any())
        {
            throw new ConfigurationKeyException(section.Path, $"expects a single value ({Describe(type)}), not a mapping or list");
        }
        var value = section.Value;
        var nullable = Nullable.GetUnderlyingType(type);
        if (value is null || (value.Length == 0 && nullable is not null))
        {
            return;
        }
        var target = nullable ?? type;
        if (target.IsEnum)
        {
            if (!Enum.TryParse(target, value, ignoreCase: true, out var parsed) || !Enum.IsDefined(target, parsed!)
                || char.IsDigit(value.TrimStart('-')[0]))
            {
                throw new ConfigurationKeyException(section.Path, $"'{value}' is not one of {string.Join(", ", Enum.GetNames(target))}");
            }
            return;
        }
        try
        {
            _ = TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException
            || e.InnerException is FormatException or OverflowException or ArgumentException)
        {
            throw new ConfigurationKeyException(section.Path, $"'{value}' is not {Describe(target)}", e);
        }
    }

    /// <summary>How a type is written in a configuration file, for messages and the reference.</summary>
    public static string Describe(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t switch
        {
            _ when t == typeof(TimeSpan) => "a duration [d.]hh:mm:ss[.fff]",
            _ when t == typeof(bool) => "true or false",
            _ when t == typeof(string) => "a string",
            _ when t == typeof(int) || t == typeof(long) || t == typeof(uint) => "an integer",
            _ when t == typeof(double) => "a number",
            _ when t.IsEnum => "one of " + string.Join(", ", Enum.GetNames(t)),
            _ when IsDictionary(t) => $"a mapping of names to {Describe(ElementOf(t)!)}",
            _ when IsCollection(t) => $"a list of {Describe(ElementOf(t)!)}",
            _ when IsScalar(t) => $"a {t.Name}",
            _ => "a mapping of settings",
        };
    }
}

/// <summary>A configuration key at fault: <see cref="Key"/> is its full path (e.g. <c>SafeHaven:Probe:Period</c>).</summary>
public sealed class ConfigurationKeyException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public ConfigurationKeyException(string key, string problem, Exception? inner = null)
        : base($"{key}: {problem}", inner)
    {
        Key = key;
        Problem = problem;
    }

    /// <summary>The full path of the key.</summary>
    public string Key { get; }

    /// <summary>What is wrong, without the key.</summary>
    public string Problem { get; }
}

/// <summary>Marks a property of an options class that code sets and configuration cannot (e.g. an object already loaded).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotConfiguredAttribute : Attribute;
