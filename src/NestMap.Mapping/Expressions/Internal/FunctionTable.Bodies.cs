using System.Buffers;
using System.Text;

namespace NestMap.Mapping.Expressions.Internal;

// The bodies of the built-in functions, in alphabetical order. Arguments arrive checked against the signature in
// FunctionTable.Build; what the signature cannot say (integers, lengths, consistent key types) is checked here.
internal static partial class FunctionTable
{
    private static JValue Abs(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Finite(Math.Abs(a[0].Number), "abs", ref c, o);

    private static JValue Avg(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        int count = a[0].ArrayLength;
        return count == 0 ? JValue.Null : Finite(SumOf(a[0], ref c, o) / count, "avg", ref c, o);
    }

    private static JValue Ceil(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Finite(Math.Ceiling(a[0].Number), "ceil", ref c, o);

    private static JValue Contains(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        if (a[0].Type == JType.String)
        {
            return JValue.FromBoolean(a[1].Type == JType.String && a[0].String.Contains(a[1].String, StringComparison.Ordinal));
        }

        foreach (JValue item in a[0].EnumerateArray())
        {
            c.Step(o);
            if (c.Equal(item, a[1], o))
            {
                return JValue.True;
            }
        }

        return JValue.False;
    }

    private static JValue EndsWith(ReadOnlySpan<JValue> a, ref EvalContext c, int o) =>
        JValue.FromBoolean(a[0].String.EndsWith(a[1].String, StringComparison.Ordinal));

    private static JValue FindFirst(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Find(a, ref c, o, last: false);

    private static JValue FindLast(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Find(a, ref c, o, last: true);

    /// <summary>Finds <c>sub</c> within <c>subject[start:end]</c> (Python's str.find/rfind bounds), by code point.</summary>
    private static JValue Find(ReadOnlySpan<JValue> a, ref EvalContext c, int o, bool last)
    {
        string[] subject = JsonText.CodePoints(a[0].String);
        string[] sub = JsonText.CodePoints(a[1].String);
        int n = subject.Length;
        int start = a.Length > 2 ? Integer(a[2], "find", ref c, o) : 0;
        int end = a.Length > 3 ? Integer(a[3], "find", ref c, o) : n;
        if (subject.Length == 0 || sub.Length == 0)
        {
            return JValue.Null;
        }

        start = start < 0 ? Math.Max(0, start + n) : Math.Min(start, n);
        end = end < 0 ? Math.Max(0, end + n) : Math.Min(end, n);
        c.Steps((long)Math.Max(0, end - start) * sub.Length, o);
        int first = start, stop = end - sub.Length;
        for (int k = 0; k <= stop - first; k++)
        {
            int i = last ? stop - k : first + k;
            if (subject.AsSpan(i, sub.Length).SequenceEqual(sub))
            {
                return JValue.FromNumber(i);
            }
        }

        return JValue.Null;
    }

    private static JValue Floor(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Finite(Math.Floor(a[0].Number), "floor", ref c, o);

    private static JValue FromItems(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        var members = new OrderedDictionary<string, JValue>(StringComparer.Ordinal);
        foreach (JValue pair in a[0].EnumerateArray())
        {
            c.Step(o);
            if (pair.Type != JType.Array || pair.ArrayLength != 2 || pair.ArrayItem(0).Type != JType.String)
            {
                throw c.Error(
                    ExpressionErrorKind.InvalidType,
                    ErrorMessages.Format(ErrorMessages.ArgumentType, "from_items", 1, "an array of [string, value] pairs", "an array holding " + Describe(pair)),
                    o);
            }

            members[pair.ArrayItem(0).String] = pair.ArrayItem(1);
        }

        c.Build(members.Count, o);
        return JValue.FromObject(ObjectValue.From(members));
    }

    private static JValue GroupBy(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        ExpressionRef key = a[1].Expression;
        var groups = new OrderedDictionary<string, List<JValue>>(StringComparer.Ordinal);
        foreach (JValue item in a[0].EnumerateArray())
        {
            c.Step(o);
            JValue k = key.Body(item, ref c);
            if (k.IsNullOrMissing)
            {
                continue;
            }

            if (k.Type != JType.String)
            {
                throw KeyType("group_by", "a string or null", k, ref c, o);
            }

            string name = k.String;
            if (!groups.TryGetValue(name, out List<JValue>? group))
            {
                groups[name] = group = [];
            }

            group.Add(item);
        }

        var names = new string[groups.Count];
        var values = new JValue[groups.Count];
        for (int i = 0; i < names.Length; i++)
        {
            (string name, List<JValue> group) = groups.GetAt(i);
            c.Build(group.Count + 1, o);
            names[i] = name;
            values[i] = JValue.FromArray([.. group]);
        }

        return JValue.FromObject(new ObjectValue(names, values));
    }

    private static JValue Items(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        var items = new ValueList();
        JValue.ObjectIterator members = a[0].EnumerateObject();
        while (members.MoveNext())
        {
            c.Step(o);
            c.Build(2, o);
            items.Add(JValue.FromArray([JValue.FromString(members.CurrentName), members.CurrentValue]));
        }

        return items.ToValue(ref c, o);
    }

    private static JValue Join(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        string glue = a[0].String;
        var text = new StringBuilder();
        bool first = true;
        foreach (JValue item in a[1].EnumerateArray())
        {
            c.Step(o);
            if (!first)
            {
                text.Append(glue);
            }

            first = false;
            text.Append(item.String);
            c.CheckString(text.Length, o);
        }

        return JValue.FromString(text.ToString());
    }

    private static JValue Keys(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        var keys = new ValueList();
        JValue.ObjectIterator members = a[0].EnumerateObject();
        while (members.MoveNext())
        {
            c.Step(o);
            keys.Add(JValue.FromString(members.CurrentName));
        }

        return keys.ToValue(ref c, o);
    }

    private static JValue Length(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => a[0].Type switch
    {
        JType.String => JValue.FromNumber(JsonText.CodePointLength(a[0].String)),
        JType.Array => JValue.FromNumber(a[0].ArrayLength),
        _ => JValue.FromNumber(a[0].ObjectCount),
    };

    private static JValue Lower(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => JValue.FromString(a[0].String.ToLowerInvariant());

    private static JValue Map(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        ExpressionRef body = a[0].Expression;
        var results = new ValueList();
        foreach (JValue item in a[1].EnumerateArray())
        {
            c.Step(o);
            JValue result = body.Body(item, ref c);
            results.Add(result.Type == JType.Missing ? JValue.Null : result);
        }

        return results.ToValue(ref c, o);
    }

    private static JValue Max(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Extreme(a[0], ref c, o, sign: 1);

    private static JValue Min(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Extreme(a[0], ref c, o, sign: -1);

    private static JValue Extreme(in JValue array, ref EvalContext c, int o, int sign)
    {
        JValue best = JValue.Null;
        Key bestKey = default;
        foreach (JValue item in array.EnumerateArray())
        {
            c.Step(o);
            var key = new Key(item);
            if (best.Type == JType.Null || sign * key.CompareTo(bestKey) > 0)
            {
                best = item;
                bestKey = key;
            }
        }

        return best;
    }

    private static JValue MaxBy(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => ExtremeBy(a, ref c, o, "max_by", sign: 1);

    private static JValue MinBy(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => ExtremeBy(a, ref c, o, "min_by", sign: -1);

    private static JValue ExtremeBy(ReadOnlySpan<JValue> a, ref EvalContext c, int o, string name, int sign)
    {
        ExpressionRef key = a[1].Expression;
        JValue best = JValue.Null, firstKey = default;
        Key bestKey = default;
        foreach (JValue item in a[0].EnumerateArray())
        {
            c.Step(o);
            JValue k = key.Body(item, ref c);
            CheckKey(name, k, firstKey, ref c, o);
            if (firstKey.Type == JType.Missing)
            {
                firstKey = k;
            }

            var read = new Key(k);
            if (best.Type == JType.Null || sign * read.CompareTo(bestKey) > 0)
            {
                best = item;
                bestKey = read;
            }
        }

        return best;
    }

    /// <summary>A number or string key read out of its value once, for repeated comparisons.</summary>
    private readonly struct Key
    {
        private readonly double _number;
        private readonly string? _text;

        public Key(in JValue value)
        {
            if (value.Type == JType.Number)
            {
                _number = value.Number;
            }
            else
            {
                _text = value.String;
            }
        }

        public int CompareTo(in Key other) => _text is null ? _number.CompareTo(other._number) : JsonText.CompareStrings(_text, other._text!);
    }

    private static JValue Merge(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        var members = new OrderedDictionary<string, JValue>(StringComparer.Ordinal);
        foreach (JValue obj in a)
        {
            JValue.ObjectIterator it = obj.EnumerateObject();
            while (it.MoveNext())
            {
                c.Step(o);
                members[it.CurrentName] = it.CurrentValue;
            }
        }

        c.Build(members.Count, o);
        return JValue.FromObject(ObjectValue.From(members));
    }

    private static JValue NotNull(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        foreach (JValue value in a)
        {
            if (!value.IsNullOrMissing)
            {
                return value;
            }
        }

        return JValue.Null;
    }

    private static JValue PadLeft(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Pad(a, ref c, o, "pad_left", left: true);

    private static JValue PadRight(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Pad(a, ref c, o, "pad_right", left: false);

    private static JValue Pad(ReadOnlySpan<JValue> a, ref EvalContext c, int o, string name, bool left)
    {
        string subject = a[0].String;
        int width = Integer(a[1], name, ref c, o);
        string pad = a.Length > 2 ? a[2].String : " ";
        if (width < 0 || JsonText.CodePointLength(pad) != 1)
        {
            throw c.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.Format(ErrorMessages.PadArguments, name), o);
        }

        int missing = width - JsonText.CodePointLength(subject);
        if (missing <= 0)
        {
            return a[0];
        }

        c.CheckString(subject.Length + ((long)missing * pad.Length), o);
        c.Steps(missing, o);
        var text = new StringBuilder(subject.Length + (missing * pad.Length));
        if (!left)
        {
            text.Append(subject);
        }

        text.Insert(left ? 0 : text.Length, pad, missing);
        if (left)
        {
            text.Append(subject);
        }

        return JValue.FromString(text.ToString());
    }

    private static JValue Replace(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        string subject = a[0].String, old = a[1].String, replacement = a[2].String;
        int count = a.Length > 3 ? Count(a[3], "replace", ref c, o) : int.MaxValue;
        if (old.Length == 0)
        {
            // As Python's str.replace: the empty string matches before every code point and at the end.
            string[] points = JsonText.CodePoints(subject);
            var inserted = new StringBuilder();
            int done = 0;
            for (int i = 0; i <= points.Length; i++)
            {
                if (done < count)
                {
                    inserted.Append(replacement);
                    done++;
                }

                if (i < points.Length)
                {
                    inserted.Append(points[i]);
                }

                c.CheckString(inserted.Length, o);
            }

            return JValue.FromString(inserted.ToString());
        }

        var text = new StringBuilder();
        int position = 0, replaced = 0;
        while (replaced < count)
        {
            int found = subject.IndexOf(old, position, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            text.Append(subject, position, found - position).Append(replacement);
            c.CheckString(text.Length, o);
            c.Step(o);
            position = found + old.Length;
            replaced++;
        }

        text.Append(subject, position, subject.Length - position);
        c.CheckString(text.Length, o);
        return JValue.FromString(text.ToString());
    }

    private static JValue Reverse(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        if (a[0].Type == JType.String)
        {
            string[] points = JsonText.CodePoints(a[0].String);
            System.Array.Reverse(points);
            return JValue.FromString(string.Concat(points));
        }

        var items = new ValueList();
        foreach (JValue item in a[0].EnumerateArray())
        {
            c.Step(o);
            items.Add(item);
        }

        JValue result = items.ToValue(ref c, o);
        System.Array.Reverse(result.BuiltArray!);
        return result;
    }

    private static JValue Sort(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        if (a[0].ArrayLength <= ValueBuffer16.Length)
        {
            ValueBuffer16 buffer = default;
            Span<JValue> small = ReadSmall(a[0], buffer, ref c, o);
            ChargeSort(small.Length, ref c, o);
            return JValue.FromArray(SmallStableSorted(small, small));
        }

        JValue[]? rented = null;
        try
        {
            ReadOnlySpan<JValue> items = ItemsOf(a[0], ref c, o, ref rented);
            ChargeSort(items.Length, ref c, o);
            return JValue.FromArray(StableSorted(items, items));
        }
        finally
        {
            Return(rented);
        }
    }

    private static JValue SortBy(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        ExpressionRef key = a[1].Expression;
        if (a[0].ArrayLength <= ValueBuffer16.Length)
        {
            ValueBuffer16 itemBuffer = default, keyBuffer = default;
            Span<JValue> small = ReadSmall(a[0], itemBuffer, ref c, o);
            Span<JValue> smallKeys = ((Span<JValue>)keyBuffer)[..small.Length];
            ReadKeys(small, smallKeys, key, ref c, o);
            ChargeSort(small.Length, ref c, o);
            return JValue.FromArray(SmallStableSorted(smallKeys, small));
        }

        JValue[]? rented = null, rentedKeys = null;
        try
        {
            ReadOnlySpan<JValue> items = ItemsOf(a[0], ref c, o, ref rented);
            rentedKeys = ArrayPool<JValue>.Shared.Rent(items.Length);
            Span<JValue> keys = rentedKeys.AsSpan(0, items.Length);
            ReadKeys(items, keys, key, ref c, o);
            ChargeSort(items.Length, ref c, o);
            return JValue.FromArray(StableSorted(keys, items));
        }
        finally
        {
            Return(rented);
            Return(rentedKeys);
        }
    }

    /// <summary>
    /// The items of an array to read by index: a built array in place; an element array read out once (indexing a
    /// JsonElement array of objects is not O(1)) into a pooled buffer, charged one step per item as a copy is.
    /// </summary>
    private static ReadOnlySpan<JValue> ItemsOf(in JValue array, ref EvalContext c, int o, ref JValue[]? rented)
    {
        if (array.BuiltArray is { } built)
        {
            return built;
        }

        int length = array.ArrayLength;
        rented = ArrayPool<JValue>.Shared.Rent(length);
        ReadElements(array, rented, ref c, o);
        return rented.AsSpan(0, length);
    }

    /// <summary>Evaluates sort_by's key for each item (a step each), checking that all are numbers or all strings.</summary>
    private static void ReadKeys(ReadOnlySpan<JValue> items, Span<JValue> keys, ExpressionRef key, ref EvalContext c, int o)
    {
        for (int i = 0; i < items.Length; i++)
        {
            c.Step(o);
            keys[i] = key.Body(items[i], ref c);
            CheckKey("sort_by", keys[i], i == 0 ? default : keys[0], ref c, o);
        }
    }

    /// <summary>
    /// The items of an array of at most <see cref="ValueBuffer16.Length"/> into <paramref name="buffer"/> on the caller's
    /// stack, charged as <see cref="ItemsOf"/> charges (one step per item of an element array): for the small arrays that
    /// most sorts see, renting and returning pooled buffers costs more than the sort itself.
    /// </summary>
    private static Span<JValue> ReadSmall(in JValue array, Span<JValue> buffer, ref EvalContext c, int o)
    {
        if (array.BuiltArray is { } built)
        {
            built.CopyTo(buffer);
            return buffer[..built.Length];
        }

        int count = 0;
        foreach (JValue item in array.EnumerateArray())
        {
            buffer[count++] = item;
        }

        c.Steps(count, o);
        return buffer[..count];
    }

    /// <summary>
    /// <see cref="StableSorted"/> for at most <see cref="ValueBuffer16.Length"/> items: an insertion sort of the keys
    /// read out once onto the stack (stable by construction: an item moves only past strictly greater keys).
    /// </summary>
    private static JValue[] SmallStableSorted(ReadOnlySpan<JValue> keys, ReadOnlySpan<JValue> items)
    {
        int n = items.Length;
        var sorted = new JValue[n];
        if (n == 0)
        {
            return sorted;
        }

        Span<int> order = stackalloc int[ValueBuffer16.Length];
        if (keys[0].Type == JType.Number)
        {
            Span<double> read = stackalloc double[ValueBuffer16.Length];
            for (int i = 0; i < n; i++)
            {
                double key = keys[i].Number;
                int j = i - 1;
                for (; j >= 0 && read[j].CompareTo(key) > 0; j--)
                {
                    read[j + 1] = read[j];
                    order[j + 1] = order[j];
                }

                read[j + 1] = key;
                order[j + 1] = i;
            }
        }
        else
        {
            StringBuffer16 buffer = default;
            Span<string?> read = buffer;
            for (int i = 0; i < n; i++)
            {
                string key = keys[i].String;
                int j = i - 1;
                for (; j >= 0 && JsonText.CompareStrings(read[j]!, key) > 0; j--)
                {
                    read[j + 1] = read[j];
                    order[j + 1] = order[j];
                }

                read[j + 1] = key;
                order[j + 1] = i;
            }
        }

        for (int i = 0; i < n; i++)
        {
            sorted[i] = items[order[i]];
        }

        return sorted;
    }

    /// <summary>Reads the items of an element array into <paramref name="into"/>, charged one step each, as a copy is.</summary>
    private static void ReadElements(in JValue array, JValue[] into, ref EvalContext c, int o)
    {
        int count = 0;
        foreach (JValue item in array.EnumerateArray())
        {
            into[count++] = item;
        }

        c.Steps(count, o);
    }

    private static void Return(JValue[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<JValue>.Shared.Return(rented, clearArray: true);
        }
    }

    /// <summary>
    /// <paramref name="items"/> ordered by <paramref name="keys"/> (all numbers or all strings), equal keys in their
    /// order, in a new array (the only allocation). Keys are read out once (an input number is parsed from its text on
    /// every read, which a comparison sort would otherwise do n log n times), with their positions, into pooled pairs.
    /// </summary>
    private static JValue[] StableSorted(ReadOnlySpan<JValue> keys, ReadOnlySpan<JValue> items)
    {
        var sorted = new JValue[items.Length];
        if (keys.Length > 0 && keys[0].Type == JType.Number)
        {
            SortByKeys(keys, items, sorted, static k => k.Number, default(StableNumberComparer));
        }
        else if (keys.Length > 0)
        {
            SortByKeys(keys, items, sorted, static k => k.String, default(StableStringComparer));
        }

        return sorted;
    }

    /// <summary>Sorts (key, position) pairs in a pooled buffer and fills <paramref name="sorted"/> in their order.</summary>
    private static void SortByKeys<TKey, TComparer>(ReadOnlySpan<JValue> keys, ReadOnlySpan<JValue> items, JValue[] sorted, Func<JValue, TKey> read, TComparer comparer)
        where TComparer : IComparer<(TKey Key, int Index)>
    {
        // Reading a key may fail (a lone surrogate escape): the buffer goes back to the pool either way.
        (TKey Key, int Index)[] pairs = ArrayPool<(TKey, int)>.Shared.Rent(keys.Length);
        try
        {
            Span<(TKey Key, int Index)> span = pairs.AsSpan(0, keys.Length);
            for (int i = 0; i < keys.Length; i++)
            {
                span[i] = (read(keys[i]), i);
            }

            span.Sort(comparer);
            for (int i = 0; i < sorted.Length; i++)
            {
                sorted[i] = items[span[i].Index];
            }
        }
        finally
        {
            ArrayPool<(TKey, int)>.Shared.Return(pairs, clearArray: System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<TKey>());
        }
    }

    /// <summary>Orders by key, then by original position, which makes the (unstable) span sort stable.</summary>
    private readonly struct StableNumberComparer : IComparer<(double Key, int Index)>
    {
        public int Compare((double Key, int Index) x, (double Key, int Index) y)
        {
            int byKey = x.Key.CompareTo(y.Key);
            return byKey != 0 ? byKey : x.Index.CompareTo(y.Index);
        }
    }

    /// <summary>Orders by key (code point order), then by original position.</summary>
    private readonly struct StableStringComparer : IComparer<(string Key, int Index)>
    {
        public int Compare((string Key, int Index) x, (string Key, int Index) y)
        {
            int byKey = JsonText.CompareStrings(x.Key, y.Key);
            return byKey != 0 ? byKey : x.Index.CompareTo(y.Index);
        }
    }

    private static JValue Split(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        string subject = a[0].String, search = a[1].String;
        int count = a.Length > 2 ? Count(a[2], "split", ref c, o) : int.MaxValue;
        var parts = new ValueList();
        if (search.Length == 0)
        {
            string[] points = JsonText.CodePoints(subject);
            int splits = Math.Min(count, Math.Max(0, points.Length - 1));
            for (int i = 0; i < splits; i++)
            {
                parts.Add(JValue.FromString(points[i]));
            }

            if (points.Length > 0)
            {
                parts.Add(JValue.FromString(string.Concat(points.AsSpan(splits))));
            }

            c.Steps(points.Length, o);
            return parts.ToValue(ref c, o);
        }

        int position = 0, done = 0;
        while (done < count)
        {
            int found = subject.IndexOf(search, position, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            c.Step(o);
            parts.Add(JValue.FromString(subject[position..found]));
            position = found + search.Length;
            done++;
        }

        parts.Add(JValue.FromString(subject[position..]));
        return parts.ToValue(ref c, o);
    }

    private static JValue StartsWith(ReadOnlySpan<JValue> a, ref EvalContext c, int o) =>
        JValue.FromBoolean(a[0].String.StartsWith(a[1].String, StringComparison.Ordinal));

    private static JValue Sum(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => Finite(SumOf(a[0], ref c, o), "sum", ref c, o);

    private static JValue ToArray(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        if (a[0].Type == JType.Array)
        {
            return a[0];
        }

        c.Build(1, o);
        return JValue.FromArray([a[0].Type == JType.Missing ? JValue.Null : a[0]]);
    }

    private static JValue ToNumber(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => a[0].Type switch
    {
        JType.Number => a[0],
        JType.String => JsonText.TryParseNumber(a[0].String, out double number) ? JValue.FromNumber(number) : JValue.Null,
        _ => JValue.Null,
    };

    private static JValue ToStringFunction(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        if (a[0].Type == JType.String)
        {
            return a[0];
        }

        if (a[0].IsElement && a[0].Type is JType.Number or JType.Boolean or JType.Null)
        {
            // A scalar of the input is its own JSON text (a number keeps the input's spelling).
            return JValue.FromString(a[0].Element.GetRawText());
        }

        return JValue.FromString(c.ToJson(a[0].Type == JType.Missing ? JValue.Null : a[0], o));
    }

    private static JValue Trim(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => TrimCore(a, both: true, start: true);

    private static JValue TrimLeft(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => TrimCore(a, both: false, start: true);

    private static JValue TrimRight(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => TrimCore(a, both: false, start: false);

    private static JValue TrimCore(ReadOnlySpan<JValue> a, bool both, bool start)
    {
        string subject = a[0].String;
        string chars = a.Length > 1 ? a[1].String : string.Empty;
        if (chars.Length == 0)
        {
            return JValue.FromString(both ? subject.Trim() : start ? subject.TrimStart() : subject.TrimEnd());
        }

        // Characters to trim are code points: a character outside the BMP is one pair of UTF-16 units, never half.
        string[] points = JsonText.CodePoints(subject);
        var set = new HashSet<string>(JsonText.CodePoints(chars), StringComparer.Ordinal);
        int first = 0, last = points.Length;
        if (both || start)
        {
            while (first < last && set.Contains(points[first]))
            {
                first++;
            }
        }

        if (both || !start)
        {
            while (last > first && set.Contains(points[last - 1]))
            {
                last--;
            }
        }

        return JValue.FromString(string.Concat(points.AsSpan(first, last - first)));
    }

    private static JValue TypeFunction(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => JValue.FromString(a[0].TypeName);

    private static JValue Upper(ReadOnlySpan<JValue> a, ref EvalContext c, int o) => JValue.FromString(a[0].String.ToUpperInvariant());

    private static JValue Values(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        var values = new ValueList();
        JValue.ObjectIterator members = a[0].EnumerateObject();
        while (members.MoveNext())
        {
            c.Step(o);
            values.Add(members.CurrentValue);
        }

        return values.ToValue(ref c, o);
    }

    private static JValue Zip(ReadOnlySpan<JValue> a, ref EvalContext c, int o)
    {
        int length = int.MaxValue;
        foreach (JValue array in a)
        {
            length = Math.Min(length, array.ArrayLength);
        }

        var columns = new JValue[a.Length][];
        for (int j = 0; j < a.Length; j++)
        {
            columns[j] = CopyItems(a[j], ref c, o);
        }

        var rows = new JValue[length];
        c.Build((long)length * (a.Length + 1), o);
        for (int i = 0; i < length; i++)
        {
            c.Step(o);
            var row = new JValue[a.Length];
            for (int j = 0; j < a.Length; j++)
            {
                row[j] = columns[j][i];
            }

            rows[i] = JValue.FromArray(row);
        }

        return JValue.FromArray(rows);
    }

    // Helpers.

    /// <summary>A number result; an infinity (from an input number beyond the double range, or a sum that overflows) is <c>not-a-number</c>.</summary>
    internal static JValue Finite(double number, string name, ref EvalContext c, int o) => double.IsFinite(number)
        ? JValue.FromNumber(number)
        : throw c.Error(ExpressionErrorKind.NotANumber, ErrorMessages.Format(ErrorMessages.FunctionNotANumber, name, number), o);

    private static double SumOf(in JValue array, ref EvalContext c, int o)
    {
        double sum = 0;
        foreach (JValue item in array.EnumerateArray())
        {
            c.Step(o);
            sum += item.Number;
        }

        return sum;
    }

    private static JValue[] CopyItems(in JValue array, ref EvalContext c, int o)
    {
        if (array.BuiltArray is { } built)
        {
            return (JValue[])built.Clone();
        }

        var items = new JValue[array.ArrayLength];
        ReadElements(array, items, ref c, o);
        return items;
    }

    private static void ChargeSort(int n, ref EvalContext c, int o) => c.Steps(n <= 1 ? 1 : (long)(n * Math.Log2(n)), o);

    /// <summary>A sort key must be a number or a string, of the same type as the first key.</summary>
    private static void CheckKey(string name, in JValue key, in JValue first, ref EvalContext c, int o)
    {
        if (key.Type is not (JType.Number or JType.String))
        {
            throw KeyType(name, "a number or a string", key, ref c, o);
        }

        if (first.Type != JType.Missing && first.Type != key.Type)
        {
            throw KeyType(name, "keys of one type (" + first.TypeName + ")", key, ref c, o);
        }
    }

    private static ExpressionException KeyType(string name, string expected, in JValue key, ref EvalContext c, int o) =>
        c.Error(ExpressionErrorKind.InvalidType, ErrorMessages.Format(ErrorMessages.KeyType, name, expected, key.TypeName), o);

    private static string Describe(in JValue value) => value.Type == JType.Array ? "an array of " + value.ArrayLength : value.TypeName;

    /// <summary>A number argument that must be an integer (<c>invalid-value</c> otherwise).</summary>
    private static int Integer(in JValue value, string name, ref EvalContext c, int o)
    {
        double number = value.Number;
        if (number != Math.Floor(number) || double.IsInfinity(number))
        {
            throw c.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.Format(ErrorMessages.IntegerExpected, name, number), o);
        }

        return (int)Math.Clamp(number, int.MinValue, int.MaxValue);
    }

    /// <summary>A count argument: a non-negative integer.</summary>
    private static int Count(in JValue value, string name, ref EvalContext c, int o)
    {
        int count = Integer(value, name, ref c, o);
        if (count < 0)
        {
            throw c.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.Format(ErrorMessages.NonNegativeExpected, name, count), o);
        }

        return count;
    }
}
