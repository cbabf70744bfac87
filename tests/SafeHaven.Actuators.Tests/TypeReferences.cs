using System.Buffers.Binary;
using System.Reflection;
using System.Reflection.Emit;

namespace SafeHaven.Actuators.Tests;

/// <summary>
/// The types one compiled type refers to, read by reflection: base type, interfaces, attributes, fields, properties,
/// events, method and constructor signatures, local variables, and every type, method and field its IL names. So
/// method bodies count as well as signatures; lambdas, iterators and async state machines are nested types and are
/// read as types of their own.
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags Declared =
        BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Each type <paramref name="type"/> refers to, with where (the first place seen).</summary>
    public static Dictionary<Type, string> Of(Type type)
    {
        var found = new Dictionary<Type, string>();
        void Add(Type? t, string where) => Expand(t, where, found);

        Add(type.BaseType, "base type");
        foreach (var i in type.GetInterfaces())
        {
            Add(i, "interface");
        }
        foreach (var a in type.GetCustomAttributesData())
        {
            Add(a.AttributeType, "attribute");
        }
        foreach (var f in type.GetFields(Declared))
        {
            Add(f.FieldType, $"field {f.Name}");
        }
        foreach (var p in type.GetProperties(Declared))
        {
            Add(p.PropertyType, $"property {p.Name}");
        }
        foreach (var e in type.GetEvents(Declared))
        {
            Add(e.EventHandlerType, $"event {e.Name}");
        }
        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (m is MethodInfo mi)
            {
                Add(mi.ReturnType, $"signature of {m.Name}");
            }
            foreach (var p in m.GetParameters())
            {
                Add(p.ParameterType, $"signature of {m.Name}");
            }
            Body(type, m, found);
        }
        return found;
    }

    private static void Body(Type type, MethodBase method, Dictionary<Type, string> found)
    {
        var body = method.GetMethodBody();
        if (body is null)
        {
            return;
        }
        var where = $"body of {method.Name}";
        foreach (var local in body.LocalVariables)
        {
            Expand(local.LocalType, where, found);
        }
        var il = body.GetILAsByteArray() ?? [];
        var typeArgs = type.IsGenericType ? type.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var code = il[i] == 0xFE ? OpCodesByValue[unchecked((short)(0xFE00 | il[i + 1]))] : OpCodesByValue[il[i]];
            i += code.Size;
            if (code.OperandType is OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok)
            {
                var token = BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(i));
                Member(type.Module.ResolveMember(token, typeArgs, methodArgs), where, found);
            }
            i += OperandSize(code.OperandType, il, i);
        }
    }

    private static void Member(MemberInfo? member, string where, Dictionary<Type, string> found)
    {
        switch (member)
        {
            case Type t:
                Expand(t, where, found);
                break;
            case FieldInfo f:
                Expand(f.DeclaringType, where, found);
                Expand(f.FieldType, where, found);
                break;
            case MethodBase m:
                Expand(m.DeclaringType, where, found);
                if (m is MethodInfo mi)
                {
                    Expand(mi.ReturnType, where, found);
                    if (mi.IsGenericMethod)
                    {
                        foreach (var a in mi.GetGenericArguments())
                        {
                            Expand(a, where, found);
                        }
                    }
                }
                foreach (var p in m.GetParameters())
                {
                    Expand(p.ParameterType, where, found);
                }
                break;
        }
    }

    private static int OperandSize(OperandType operand, byte[] il, int at) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(at))),
        _ => 4,
    };

    // Arrays, by-refs, pointers and generic instantiations stand for the types they are made of.
    private static void Expand(Type? t, string where, Dictionary<Type, string> found)
    {
        if (t is null || t.IsGenericParameter)
        {
            return;
        }
        if (t.HasElementType)
        {
            Expand(t.GetElementType(), where, found);
            return;
        }
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
        {
            Expand(t.GetGenericTypeDefinition(), where, found);
            foreach (var a in t.GetGenericArguments())
            {
                Expand(a, where, found);
            }
            return;
        }
        found.TryAdd(t, where);
    }
}
