using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>The JMESPath types, plus <see cref="Missing"/> for "the path found nothing".</summary>
internal enum JType : byte
{
    /// <summary>Navigation found no value: behaves as <c>null</c> in the language, reported apart to callers.</summary>
    Missing,
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
    /// <summary>An expression reference (<c>&amp;expr</c>), only ever a function argument.</summary>
    Expression,
}

/// <summary>
/// A value during evaluation: either a view of an element of the input (or of a literal) — so selecting an existing
/// element allocates nothing — or a value the evaluation built (a number, a string, an array, an object).
/// </summary>
/// <remarks>Immutable; safe to share between threads as long as the input document is alive.</remarks>
[DebuggerDisplay("{DebuggerText,nq}")]
internal readonly struct JValue
{
    private readonly JsonElement _element;
    private readonly object? _ref;
    private readonly double _number;
    private readonly JType _type;
    private readonly bool _isElement;

    private JValue(JType type, double number, object? reference)
    {
        _type = type;
        _number = number;
        _ref = reference;
    }

    private JValue(JsonElement element, JType type)
    {
        _element = element;
        _type = type;
        _isElement = true;
    }

    public static JValue Missing => default;

    public static JValue Null { get; } = new(JType.Null, 0, null);

    public static JValue True { get; } = new(JType.Boolean, 1, null);

    public static JValue False { get; } = new(JType.Boolean, 0, null);

    public static JValue EmptyString { get; } = new(JType.String, 0, string.Empty);

    public JType Type => _type;

    public bool IsElement => _isElement;

    /// <summary>True for <c>null</c> and for missing values: the two behave alike in the language.</summary>
    public bool IsNullOrMissing => _type <= JType.Null;

    public JsonElement Element
    {
        get
        {
            Debug.Assert(_isElement);
            return _element;
        }
    }

    /// <summary>The JMESPath type of each <see cref="JsonValueKind"/>, by its value (Undefined, Object, Array, String, Number, True, False, Null).</summary>
    private static ReadOnlySpan<byte> TypeOfKind =>
        [(byte)JType.Missing, (byte)JType.Object, (byte)JType.Array, (byte)JType.String, (byte)JType.Number, (byte)JType.Boolean, (byte)JType.Boolean, (byte)JType.Null];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static JValue FromElement(JsonElement element)
    {
        // A table rather than a switch: this runs for every element an evaluation touches.
        uint kind = (uint)element.ValueKind;
        JType type = kind < (uint)TypeOfKind.Length ? (JType)TypeOfKind[(int)kind] : JType.Missing;
        return type == JType.Missing ? default : new JValue(element, type);
    }

    public static JValue FromBoolean(bool value) => value ? True : False;

    public static JValue FromNumber(double value) => new(JType.Number, value, null);

    public static JValue FromString(string value) => value.Length == 0 ? EmptyString : new(JType.String, 0, value);

    /// <summary>An array the evaluation built; the caller hands over <paramref name="items"/> and never touches it again.</summary>
    public static JValue FromArray(JValue[] items) => new(JType.Array, 0, items);

    /// <summary>An object the evaluation built; the caller hands over <paramref name="members"/> and never touches it again.</summary>
    public static JValue FromObject(ObjectValue members) => new(JType.Object, 0, members);

    public static JValue FromExpression(ExpressionRef expression) => new(JType.Expression, 0, expression);

    public bool Boolean => _isElement ? _element.ValueKind == JsonValueKind.True : _number != 0;

    public double Number => _isElement ? ElementNumber(_element) : _number;

    /// <summary>The string value; reading it from an element allocates the string.</summary>
    public string String => _isElement ? ElementString(_element) : (string)_ref!;

    public ExpressionRef Expression => (ExpressionRef)_ref!;

    /// <summary>The items of an array the evaluation built (null for element-backed arrays).</summary>
    public JValue[]? BuiltArray => _isElement ? null : _ref as JValue[];

    /// <summary>The members of an object the evaluation built (null for element-backed objects).</summary>
    public ObjectValue? BuiltObject => _isElement ? null : _ref as ObjectValue;

    public int ArrayLength => _isElement ? _element.GetArrayLength() : ((JValue[])_ref!).Length;

    public ArrayIterator EnumerateArray() => _isElement ? new ArrayIterator(_element.EnumerateArray()) : new ArrayIterator((JValue[])_ref!);

    public ObjectIterator EnumerateObject() =>
        _isElement ? new ObjectIterator(_element.EnumerateObject()) : new ObjectIterator((ObjectValue)_ref!);

    public int ObjectCount
    {
        get
        {
            if (!_isElement)
            {
                return ((ObjectValue)_ref!).Count;
            }

            int count = 0;
            foreach (JsonProperty unused in _element.EnumerateObject())
            {
                count++;
            }

            return count;
        }
    }

    /// <summary>The array item at a non-negative index, or missing.</summary>
    public JValue ArrayItem(int index)
    {
        if (_isElement)
        {
            return index < _element.GetArrayLength() ? FromElement(_element[index]) : default;
        }

        JValue[] items = (JValue[])_ref!;
        return index < items.Length ? items[index] : default;
    }

    /// <summary>Looks a member up by name; <paramref name="utf8Name"/> is the same name in UTF-8, which element lookups use.</summary>
    /// <remarks>
    /// An element lookup compares names, and a member name with a lone surrogate escape (<c>"\ud800"</c>) cannot be
    /// decoded: System.Text.Json throws <see cref="InvalidOperationException"/>, which the evaluation's entry points
    /// turn into an <c>invalid-value</c> error (see <see cref="InternalFailures"/>). It is not caught here: a handler
    /// would keep this from inlining on the hottest path of every evaluation (projections were slower in a scratch
    /// measurement that was not kept).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public JValue Property(string name, byte[] utf8Name)
    {
        if (_type != JType.Object)
        {
            return default;
        }

        if (_isElement)
        {
            return _element.TryGetProperty(utf8Name, out JsonElement found) ? FromElement(found) : default;
        }

        return ((ObjectValue)_ref!).TryGetValue(name, out JValue value) ? value : default;
    }

    /// <summary>
    /// Looks a member of an input object up without making a value of it (for writers that copy it out as it is); false
    /// for a member that is absent and for anything but an object. Only for element values (see <see cref="IsElement"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetElementMember(byte[] utf8Name, out JsonElement found)
    {
        Debug.Assert(_isElement);
        if (_type == JType.Object)
        {
            return _element.TryGetProperty(utf8Name, out found);
        }

        found = default;
        return false;
    }

    public JValue Property(string name)
    {
        if (_type != JType.Object)
        {
            return default;
        }

        if (_isElement)
        {
            return _element.TryGetProperty(name, out JsonElement found) ? FromElement(found) : default;
        }

        return ((ObjectValue)_ref!).TryGetValue(name, out JValue value) ? value : default;
    }

    /// <summary>JMESPath truthiness: false, null, missing, "", [] and {} are false; everything else is true.</summary>
    public bool IsTruthy
    {
        get
        {
            switch (_type)
            {
                case JType.Missing:
                case JType.Null:
                    return false;
                case JType.Boolean:
                    return Boolean;
                case JType.Number:
                case JType.Expression:
                    return true;
                case JType.String:
                    return _isElement ? !_element.ValueEquals(ReadOnlySpan<byte>.Empty) : ((string)_ref!).Length != 0;
                case JType.Array:
                    return ArrayLength != 0;
                default:
                    return _isElement ? _element.EnumerateObject().MoveNext() : ((ObjectValue)_ref!).Count != 0;
            }
        }
    }

    /// <summary>The JMESPath type name, as the <c>type()</c> function reports it.</summary>
    public string TypeName => TypeNameOf(_type);

    public static string TypeNameOf(JType type) => type switch
    {
        JType.Missing or JType.Null => "null",
        JType.Boolean => "boolean",
        JType.Number => "number",
        JType.String => "string",
        JType.Array => "array",
        JType.Object => "object",
        _ => "expref",
    };

    private string DebuggerText => _type switch
    {
        JType.Missing => "<missing>",
        JType.Expression => "<expref>",
        _ => DebuggerJson(this),
    };

    private static string DebuggerJson(JValue value)
    {
        long budget = 100_000;
        return JsonText.ToJson(value, ref budget);
    }

    /// <summary>
    /// Reads a string (or property name) of an element. JSON allows a lone surrogate escape (<c>"\uD800"</c>), which
    /// System.Text.Json refuses to decode: that is an <see cref="InvalidTextException"/>, which callers report.
    /// </summary>
    internal static string ElementString(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException e) when (element.ValueKind == JsonValueKind.String)
        {
            throw new InvalidTextException(e);
        }
    }

    internal static string PropertyName(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidTextException(e);
        }
    }

    private static double ElementNumber(JsonElement element)
    {
        if (element.TryGetDouble(out double value))
        {
            return value;
        }

        // TryGetDouble refuses numbers beyond the double range; they become infinities, which arithmetic reports.
        return double.Parse(element.GetRawText(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Iterates an array without allocating, whichever way it is stored.</summary>
    internal struct ArrayIterator
    {
        private JsonElement.ArrayEnumerator _elements;
        private readonly JValue[]? _items;
        private int _index;

        public ArrayIterator(JsonElement.ArrayEnumerator elements)
        {
            _elements = elements;
            _items = null;
            _index = -1;
        }

        public ArrayIterator(JValue[] items)
        {
            _elements = default;
            _items = items;
            _index = -1;
        }

        public readonly JValue Current => _items is null ? FromElement(_elements.Current) : _items[_index];

        public bool MoveNext() => _items is null ? _elements.MoveNext() : ++_index < _items.Length;

        public readonly ArrayIterator GetEnumerator() => this;
    }

    /// <summary>Iterates an object's members without allocating, whichever way it is stored.</summary>
    internal struct ObjectIterator
    {
        private JsonElement.ObjectEnumerator _elements;
        private readonly ObjectValue? _members;
        private int _index;

        public ObjectIterator(JsonElement.ObjectEnumerator elements)
        {
            _elements = elements;
            _members = null;
            _index = -1;
        }

        public ObjectIterator(ObjectValue members)
        {
            _elements = default;
            _members = members;
            _index = -1;
        }

        public readonly JValue CurrentValue => _members is null ? FromElement(_elements.Current.Value) : _members.ValueAt(_index);

        public readonly string CurrentName => _members is null ? PropertyName(_elements.Current) : _members.NameAt(_index);

        public bool MoveNext() => _members is null ? _elements.MoveNext() : ++_index < _members.Count;
    }
}
