using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>The types a function parameter accepts.</summary>
[Flags]
internal enum ArgTypes : ushort
{
    Null = 1,
    Boolean = 2,
    Number = 4,
    String = 8,
    Array = 16,
    Object = 32,
    Expression = 64,

    /// <summary>An array whose items are all numbers.</summary>
    ArrayOfNumber = 128,

    /// <summary>An array whose items are all strings.</summary>
    ArrayOfString = 256,
    Any = Null | Boolean | Number | String | Array | Object,
}

/// <summary>The body of a built-in function; arguments arrive already checked against the signature.</summary>
internal delegate JValue FunctionBody(ReadOnlySpan<JValue> args, ref EvalContext context, int offset);

/// <summary>A built-in function: its name, arity, parameter types and body.</summary>
/// <param name="Name">The name expressions call it by.</param>
/// <param name="MinArgs">The fewest arguments it takes.</param>
/// <param name="MaxArgs">The most arguments it takes (<see cref="int.MaxValue"/> when variadic).</param>
/// <param name="Types">The types of each parameter; a variadic function's last entry applies to all the rest.</param>
/// <param name="Body">What it does.</param>
internal sealed record FunctionInfo(string Name, int MinArgs, int MaxArgs, ArgTypes[] Types, FunctionBody Body)
{
    public ArgTypes TypeOf(int index) => Types[Math.Min(index, Types.Length - 1)];

    public string ArityText => MaxArgs == int.MaxValue
        ? "at least " + MinArgs.ToString(CultureInfo.InvariantCulture)
        : MinArgs == MaxArgs
            ? MinArgs.ToString(CultureInfo.InvariantCulture)
            : MinArgs.ToString(CultureInfo.InvariantCulture) + " to " + MaxArgs.ToString(CultureInfo.InvariantCulture);

    /// <summary>Raises <c>invalid-type</c> unless every argument matches its parameter type.</summary>
    public void CheckTypes(ReadOnlySpan<JValue> args, in EvalContext context, int offset)
    {
        for (int i = 0; i < args.Length; i++)
        {
            ArgTypes expected = TypeOf(i);
            if (!Accepts(expected, args[i]))
            {
                throw context.Error(
                    ExpressionErrorKind.InvalidType,
                    ErrorMessages.Format(ErrorMessages.ArgumentType, Name, i + 1, Describe(expected), args[i].TypeName),
                    offset);
            }
        }
    }

    private static bool Accepts(ArgTypes expected, in JValue value)
    {
        ArgTypes actual = value.Type switch
        {
            JType.Missing or JType.Null => ArgTypes.Null,
            JType.Boolean => ArgTypes.Boolean,
            JType.Number => ArgTypes.Number,
            JType.String => ArgTypes.String,
            JType.Array => ArgTypes.Array,
            JType.Object => ArgTypes.Object,
            _ => ArgTypes.Expression,
        };
        if ((expected & actual) != 0)
        {
            return true;
        }

        if (actual != ArgTypes.Array || (expected & (ArgTypes.ArrayOfNumber | ArgTypes.ArrayOfString)) == 0)
        {
            return false;
        }

        // Typed arrays: every item must have the one item type (an empty array has every item type).
        bool numbers = (expected & ArgTypes.ArrayOfNumber) != 0, strings = (expected & ArgTypes.ArrayOfString) != 0;
        foreach (JValue item in value.EnumerateArray())
        {
            numbers &= item.Type == JType.Number;
            strings &= item.Type == JType.String;
            if (!numbers && !strings)
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(ArgTypes types)
    {
        if (types == ArgTypes.Any)
        {
            return "any value";
        }

        var names = new List<string>();
        foreach ((ArgTypes flag, string name) in s_names)
        {
            if ((types & flag) != 0)
            {
                names.Add(name);
            }
        }

        var text = new StringBuilder();
        for (int i = 0; i < names.Count; i++)
        {
            text.Append(i == 0 ? string.Empty : i == names.Count - 1 ? " or " : ", ").Append(names[i]);
        }

        return text.ToString();
    }

    private static readonly (ArgTypes Flag, string Name)[] s_names =
    [
        (ArgTypes.Null, "null"),
        (ArgTypes.Boolean, "a boolean"),
        (ArgTypes.Number, "a number"),
        (ArgTypes.String, "a string"),
        (ArgTypes.Array, "an array"),
        (ArgTypes.Object, "an object"),
        (ArgTypes.Expression, "an expression (&expr)"),
        (ArgTypes.ArrayOfNumber, "an array of numbers"),
        (ArgTypes.ArrayOfString, "an array of strings"),
    ];
}

/// <summary>The built-in functions of JMESPath, community edition, by name.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal static partial class FunctionTable
{
    private const int Variadic = int.MaxValue;

    /// <summary>Every built-in function.</summary>
    public static FrozenDictionary<string, FunctionInfo> All { get; } = Build();

    private static FrozenDictionary<string, FunctionInfo> Build()
    {
        const ArgTypes Num = ArgTypes.Number, Str = ArgTypes.String, Arr = ArgTypes.Array, Obj = ArgTypes.Object;
        const ArgTypes Expr = ArgTypes.Expression, Any = ArgTypes.Any;
        const ArgTypes Numbers = ArgTypes.ArrayOfNumber, Strings = ArgTypes.ArrayOfString;
        FunctionInfo[] functions =
        [
            new("abs", 1, 1, [Num], Abs),
            new("avg", 1, 1, [Numbers], Avg),
            new("ceil", 1, 1, [Num], Ceil),
            new("contains", 2, 2, [Arr | Str, Any], Contains),
            new("ends_with", 2, 2, [Str, Str], EndsWith),
            new("find_first", 2, 4, [Str, Str, Num, Num], FindFirst),
            new("find_last", 2, 4, [Str, Str, Num, Num], FindLast),
            new("floor", 1, 1, [Num], Floor),
            new("from_items", 1, 1, [Arr], FromItems),
            new("group_by", 2, 2, [Arr, Expr], GroupBy),
            new("items", 1, 1, [Obj], Items),
            new("join", 2, 2, [Str, Strings], Join),
            new("keys", 1, 1, [Obj], Keys),
            new("length", 1, 1, [Str | Arr | Obj], Length),
            new("lower", 1, 1, [Str], Lower),
            new("map", 2, 2, [Expr, Arr], Map),
            new("max", 1, 1, [Numbers | Strings], Max),
            new("max_by", 2, 2, [Arr, Expr], MaxBy),
            new("merge", 1, Variadic, [Obj], Merge),
            new("min", 1, 1, [Numbers | Strings], Min),
            new("min_by", 2, 2, [Arr, Expr], MinBy),
            new("not_null", 1, Variadic, [Any], NotNull),
            new("pad_left", 2, 3, [Str, Num, Str], PadLeft),
            new("pad_right", 2, 3, [Str, Num, Str], PadRight),
            new("replace", 3, 4, [Str, Str, Str, Num], Replace),
            new("reverse", 1, 1, [Str | Arr], Reverse),
            new("sort", 1, 1, [Numbers | Strings], Sort),
            new("sort_by", 2, 2, [Arr, Expr], SortBy),
            new("split", 2, 3, [Str, Str, Num], Split),
            new("starts_with", 2, 2, [Str, Str], StartsWith),
            new("sum", 1, 1, [Numbers], Sum),
            new("to_array", 1, 1, [Any], ToArray),
            new("to_number", 1, 1, [Any], ToNumber),
            new("to_string", 1, 1, [Any], ToStringFunction),
            new("trim", 1, 2, [Str, Str], Trim),
            new("trim_left", 1, 2, [Str, Str], TrimLeft),
            new("trim_right", 1, 2, [Str, Str], TrimRight),
            new("type", 1, 1, [Any], TypeFunction),
            new("upper", 1, 1, [Str], Upper),
            new("values", 1, 1, [Obj], Values),
            new("zip", 1, Variadic, [Arr], Zip),
        ];
        return functions.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
    }
}
