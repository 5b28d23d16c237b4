using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Equality, ordering, serialisation and conversion of <see cref="JValue"/>s.</summary>
/// <remarks>
/// Every recursive walk over a value is bounded by <see cref="MaxValueDepth"/>: values built by an expression nest at
/// most as deep as the expression plus the input, but the input can be as deep as its parser allowed, so the bound is
/// explicit rather than trusted. Stateless and thread-safe.
/// </remarks>
internal static class JsonText
{
    /// <summary>The deepest value any walk accepts (System.Text.Json's own writer allows 1,000).</summary>
    public const int MaxValueDepth = 512;

    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = MaxValueDepth + 1,
        SkipValidation = true,
    };

    /// <summary>JMESPath equality: same type and same value, arrays in order, objects as sets of members.</summary>
    public static bool Equal(in JValue a, in JValue b, ref long budget, int depth = 0)
    {
        Charge(ref budget, 1);
        JType ta = a.Type == JType.Missing ? JType.Null : a.Type;
        JType tb = b.Type == JType.Missing ? JType.Null : b.Type;
        if (ta != tb)
        {
            return false;
        }

        switch (ta)
        {
            case JType.Null:
                return true;
            case JType.Boolean:
                return a.Boolean == b.Boolean;
            case JType.Number:
                return a.Number == b.Number;
            case JType.String:
                return StringEqual(a, b);
            case JType.Array:
                {
                    CheckDepth(depth);
                    if (a.ArrayLength != b.ArrayLength)
                    {
                        return false;
                    }

                    JValue.ArrayIterator left = a.EnumerateArray();
                    JValue.ArrayIterator right = b.EnumerateArray();
                    while (left.MoveNext() && right.MoveNext())
                    {
                        if (!Equal(left.Current, right.Current, ref budget, depth + 1))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            case JType.Object:
                {
                    CheckDepth(depth);
                    if (a.ObjectCount != b.ObjectCount)
                    {
                        return false;
                    }

                    JValue.ObjectIterator members = a.EnumerateObject();
                    while (members.MoveNext())
                    {
                        JValue other = b.Property(members.CurrentName);
                        if (other.Type == JType.Missing || !Equal(members.CurrentValue, other, ref budget, depth + 1))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            default:
                return ReferenceEquals(a.Expression, b.Expression);
        }
    }

    private static bool StringEqual(in JValue a, in JValue b)
    {
        try
        {
            return StringEqualCore(a, b);
        }
        catch (InvalidOperationException e)
        {
            // ValueEquals cannot decode a lone surrogate escape either.
            throw new InvalidTextException(e);
        }
    }

    /// <summary>
    /// Appends an input string without making a string of it first: its text between the quotes, transcoded on the
    /// stack. False, with nothing appended, for a built string, a string with escapes or a long one (the caller reads it
    /// the usual way, which also reports what cannot be read).
    /// </summary>
    public static bool TryAppendString(StringBuilder text, in JValue value)
    {
        if (!value.IsElement)
        {
            return false;
        }

        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(value.Element);
        ReadOnlySpan<byte> content = raw[1..^1];
        if (content.Length > 256 || content.Contains((byte)'\\'))
        {
            return false;
        }

        // At most one UTF-16 unit per UTF-8 byte.
        Span<char> chars = stackalloc char[content.Length];
        if (System.Text.Unicode.Utf8.ToUtf16(content, chars, out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return false;
        }

        text.Append(chars[..written]);
        return true;
    }

    /// <summary>
    /// Whether a string element equals a string without escapes whose JSON text (quotes included, as
    /// <see cref="JsonMarshal.GetRawUtf8Value"/> gives it) is <paramref name="jsonText"/>.
    /// </summary>
    public static bool StringEquals(JsonElement element, ReadOnlySpan<byte> jsonText)
    {
        ReadOnlySpan<byte> text = JsonMarshal.GetRawUtf8Value(element);
        if (!text.Contains((byte)'\\'))
        {
            return text.SequenceEqual(jsonText);
        }

        try
        {
            // Without escapes, the value is the text between the quotes.
            return element.ValueEquals(jsonText[1..^1]);
        }
        catch (InvalidOperationException e)
        {
            // ValueEquals cannot decode a lone surrogate escape.
            throw new InvalidTextException(e);
        }
    }

    private static bool StringEqualCore(in JValue a, in JValue b)
    {
        if (a.IsElement && b.IsElement)
        {
            // Without escapes, two strings are equal exactly when their JSON texts are: compare the bytes.
            ReadOnlySpan<byte> x = JsonMarshal.GetRawUtf8Value(a.Element), y = JsonMarshal.GetRawUtf8Value(b.Element);
            if (!x.Contains((byte)'\\') && !y.Contains((byte)'\\'))
            {
                return x.SequenceEqual(y);
            }

            return a.Element.ValueEquals(b.String);
        }

        if (a.IsElement)
        {
            return a.Element.ValueEquals(b.String);
        }

        return b.IsElement ? b.Element.ValueEquals(a.String) : string.Equals(a.String, b.String, StringComparison.Ordinal);
    }

    /// <summary>Orders strings by code point, as JMESPath requires (UTF-16 ordinal order differs above U+FFFF).</summary>
    public static int CompareStrings(string a, string b)
    {
        int length = Math.Min(a.Length, b.Length);
        for (int i = 0; i < length; i++)
        {
            char x = a[i], y = b[i];
            if (x == y)
            {
                continue;
            }

            // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, so they sort after U+E000..U+FFFF.
            bool xs = char.IsSurrogate(x), ys = char.IsSurrogate(y);
            if (xs != ys)
            {
                return xs ? 1 : -1;
            }

            return x.CompareTo(y);
        }

        return a.Length.CompareTo(b.Length);
    }

    /// <summary>The number of code points in <paramref name="text"/>.</summary>
    public static int CodePointLength(string text)
    {
        int length = text.Length;
        foreach (char c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                length--;
            }
        }

        return length;
    }

    /// <summary>Whether <paramref name="text"/> holds a surrogate that is not part of a pair.</summary>
    public static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Splits a string into its code points, each as a string (one or two UTF-16 units).</summary>
    public static string[] CodePoints(string text)
    {
        var points = new string[CodePointLength(text)];
        int p = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                points[p++] = text.Substring(i++, 2);
            }
            else
            {
                points[p++] = text[i].ToString();
            }
        }

        return points;
    }

    /// <summary>Writes a value as JSON. Missing values are written as <c>null</c>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void WriteTo(Utf8JsonWriter writer, in JValue value, ref long budget, int depth = 0)
    {
        if (value.IsElement)
        {
            WriteElementValue(writer, value.Element, ref budget);
            return;
        }

        WriteBuilt(writer, value, ref budget, depth);
    }

    /// <summary>Writes an element of the input or of a literal, charged as <see cref="WriteTo"/> charges it.</summary>
    public static void WriteElementValue(Utf8JsonWriter writer, JsonElement element, ref long budget)
    {
        ChargeElement(ref budget, element);
        WriteElement(writer, element);
    }

    /// <summary>Writes an element of the input or of a literal (its own method: the try/catch keeps it from inlining).</summary>
    private static void WriteElement(Utf8JsonWriter writer, JsonElement element)
    {
        try
        {
            element.WriteTo(writer);
        }
        catch (InvalidOperationException e) when (writer.CurrentDepth < (writer.Options.MaxDepth == 0 ? 1000 : writer.Options.MaxDepth))
        {
            // Not the writer's depth limit: a string or name with a lone surrogate escape, which the writer cannot
            // decode. (A caller's writer in a state that takes no value is reported the same way: the exception does
            // not say which, and its stack trace may have no method names under Native AOT.)
            throw new InvalidTextException(e);
        }
    }

    private static void WriteBuilt(Utf8JsonWriter writer, in JValue value, ref long budget, int depth)
    {
        Charge(ref budget, 1);

        switch (value.Type)
        {
            case JType.Missing:
            case JType.Null:
                writer.WriteNullValue();
                break;
            case JType.Boolean:
                writer.WriteBooleanValue(value.Boolean);
                break;
            case JType.Number:
                WriteNumber(writer, value.Number);
                break;
            case JType.String:
                writer.WriteStringValue(value.String);
                break;
            case JType.Array:
                CheckDepth(depth);
                writer.WriteStartArray();
                foreach (JValue item in value.EnumerateArray())
                {
                    WriteTo(writer, item, ref budget, depth + 1);
                }

                writer.WriteEndArray();
                break;
            case JType.Object:
                {
                    CheckDepth(depth);
                    writer.WriteStartObject();
                    if (value.BuiltObject is { EncodedNames: { } names } built)
                    {
                        for (int i = 0; i < names.Length; i++)
                        {
                            writer.WritePropertyName(names[i]);
                            WriteTo(writer, built.ValueAt(i), ref budget, depth + 1);
                        }
                    }
                    else
                    {
                        JValue.ObjectIterator members = value.EnumerateObject();
                        while (members.MoveNext())
                        {
                            writer.WritePropertyName(members.CurrentName);
                            WriteTo(writer, members.CurrentValue, ref budget, depth + 1);
                        }
                    }

                    writer.WriteEndObject();
                    break;
                }

            default:
                throw new InvalidOperationException(ErrorMessages.ExpressionAsValue);
        }
    }

    /// <summary>Integral doubles are written without a fraction, so that 3 stays 3 rather than 3.0.</summary>
    private static void WriteNumber(Utf8JsonWriter writer, double number)
    {
        if (Math.Abs(number) < 9007199254740992d && number == Math.Floor(number))
        {
            writer.WriteNumberValue((long)number);
        }
        else
        {
            writer.WriteNumberValue(number);
        }
    }

    /// <summary>Compact JSON text of a value, as <c>to_string</c> produces it.</summary>
    public static string ToJson(in JValue value, ref long budget)
    {
        if (value.Type == JType.Expression)
        {
            return "<expref>";
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            try
            {
                WriteTo(writer, value, ref budget);
            }
            catch (InvalidOperationException) when (writer.CurrentDepth >= MaxValueDepth)
            {
                // An element of the input deeper than the writer allows (the input's parser may have allowed more).
                throw new WalkLimitException(depth: true);
            }
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Converts a value to a detached <see cref="JsonNode"/> (it does not refer to the input document).</summary>
    public static JsonNode? ToNode(in JValue value, ref long budget, int depth = 0)
    {
        if (value.IsElement)
        {
            ChargeElement(ref budget, value.Element);
        }
        else
        {
            Charge(ref budget, 1);
        }

        switch (value.Type)
        {
            case JType.Missing:
            case JType.Null:
                return null;
            case JType.Boolean:
                return JsonValue.Create(value.Boolean);
            case JType.Number:
                {
                    double number = value.Number;
                    if (value.IsElement)
                    {
                        // Keep the input's own number text (a long stays exact, 1.50 stays 1.50).
                        return JsonNode.Parse(value.Element.GetRawText());
                    }

                    return Math.Abs(number) < 9007199254740992d && number == Math.Floor(number)
                        ? JsonValue.Create((long)number)
                        : JsonValue.Create(number);
                }

            case JType.String:
                return JsonValue.Create(value.String);
            case JType.Array:
                {
                    CheckDepth(depth);
                    var array = new JsonArray();
                    foreach (JValue item in value.EnumerateArray())
                    {
                        array.Add(ToNode(item, ref budget, depth + 1));
                    }

                    return array;
                }

            case JType.Object:
                {
                    CheckDepth(depth);
                    var obj = new JsonObject();
                    JValue.ObjectIterator members = value.EnumerateObject();
                    while (members.MoveNext())
                    {
                        obj[members.CurrentName] = ToNode(members.CurrentValue, ref budget, depth + 1);
                    }

                    return obj;
                }

            default:
                throw new InvalidOperationException(ErrorMessages.ExpressionAsValue);
        }
    }

    /// <summary>Parses text as a JSON number (the json-number production only), for <c>to_number</c>.</summary>
    public static bool TryParseNumber(string text, out double number)
    {
        // json-number = [ "-" ] int [ frac ] [ exp ]; int = "0" / digit1-9 *digit; frac = "." 1*digit; exp = e [sign] 1*digit.
        number = 0;
        ReadOnlySpan<char> s = text;
        int i = 0;
        if (i < s.Length && s[i] == '-')
        {
            i++;
        }

        if (i >= s.Length || !char.IsAsciiDigit(s[i]))
        {
            return false;
        }

        i = s[i] == '0' ? i + 1 : SkipDigits(s, i);
        if (i < s.Length && s[i] == '.')
        {
            int digits = i + 1;
            i = SkipDigits(s, digits);
            if (i == digits)
            {
                return false;
            }
        }

        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-')
            {
                i++;
            }

            int digits = i;
            i = SkipDigits(s, digits);
            if (i == digits)
            {
                return false;
            }
        }

        static int SkipDigits(ReadOnlySpan<char> s, int i)
        {
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            return i;
        }

        return i == s.Length && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);
    }

    private static void CheckDepth(int depth)
    {
        if (depth >= MaxValueDepth)
        {
            throw new WalkLimitException(depth: true);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Charge(ref long budget, long cost)
    {
        budget -= cost;
        if (budget < 0)
        {
            throw new WalkLimitException(depth: false);
        }
    }

    /// <summary>An existing element is copied as a block: it costs one value per 32 bytes of its JSON text.</summary>
    private static void ChargeElement(ref long budget, JsonElement element) =>
        Charge(ref budget, 1 + (System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element).Length / 32));
}

/// <summary>A string of an element holds a lone surrogate escape; callers turn it into an <c>invalid-value</c> error.</summary>
internal sealed class InvalidTextException : Exception
{
    public InvalidTextException()
        : base(ErrorMessages.InvalidText)
    {
    }

    public InvalidTextException(Exception innerException)
        : base(ErrorMessages.InvalidText, innerException)
    {
    }

    public InvalidTextException(string message)
        : base(message)
    {
    }

    public InvalidTextException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A walk over a value went too deep or past its budget; callers turn it into a <c>limit</c> error.</summary>
internal sealed class WalkLimitException : Exception
{
    public WalkLimitException()
    {
    }

    public WalkLimitException(bool depth)
        : base(depth ? ErrorMessages.Format(ErrorMessages.ValueTooDeep, JsonText.MaxValueDepth) : "budget exhausted")
    {
        IsDepth = depth;
    }

    public WalkLimitException(string message)
        : base(message)
    {
    }

    public WalkLimitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>True when the value was too deep; false when the budget ran out.</summary>
    public bool IsDepth { get; }
}
