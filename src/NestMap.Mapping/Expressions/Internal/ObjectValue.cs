using System.Text.Json;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// An object built by an evaluation: member names and values in two arrays, in order. A multi-select hash shares its
/// (compile-time) name array between evaluations, so building one costs a single array of values. Large objects
/// (from <c>merge</c>, <c>from_items</c>, <c>group_by</c>) get an index for lookups on first use.
/// </summary>
/// <remarks>Immutable once built. The lazy index is published with a volatile write; two threads may both build it,
/// and either copy is right.</remarks>
internal sealed class ObjectValue
{
    private const int IndexThreshold = 8;

    private readonly string[] _names;
    private readonly JValue[] _values;
    private Dictionary<string, int>? _index;

    /// <summary>Wraps names and values; names must be distinct. The caller hands both arrays over.</summary>
    /// <param name="names">The member names.</param>
    /// <param name="values">The member values.</param>
    /// <param name="encoded">The names already encoded for writing, when known at compile time.</param>
    public ObjectValue(string[] names, JValue[] values, JsonEncodedText[]? encoded = null)
    {
        _names = names;
        _values = values;
        EncodedNames = encoded;
    }

    /// <summary>The names encoded for <see cref="Utf8JsonWriter.WritePropertyName(JsonEncodedText)"/>, when known.</summary>
    public JsonEncodedText[]? EncodedNames { get; }

    public int Count => _values.Length;

    public string NameAt(int index) => _names[index];

    public JValue ValueAt(int index) => _values[index];

    /// <summary>Builds from members collected with later names replacing earlier ones (as <c>merge</c> needs).</summary>
    public static ObjectValue From(OrderedDictionary<string, JValue> members)
    {
        var names = new string[members.Count];
        var values = new JValue[members.Count];
        for (int i = 0; i < names.Length; i++)
        {
            (names[i], values[i]) = members.GetAt(i);
        }

        return new ObjectValue(names, values);
    }

    public bool TryGetValue(string name, out JValue value)
    {
        if (_names.Length > IndexThreshold)
        {
            Dictionary<string, int> index = Volatile.Read(ref _index) ?? BuildIndex();
            if (index.TryGetValue(name, out int at))
            {
                value = _values[at];
                return true;
            }

            value = default;
            return false;
        }

        for (int i = 0; i < _names.Length; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.Ordinal))
            {
                value = _values[i];
                return true;
            }
        }

        value = default;
        return false;
    }

    private Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(_names.Length, StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
        {
            index[_names[i]] = i;
        }

        Volatile.Write(ref _index, index);
        return index;
    }
}
