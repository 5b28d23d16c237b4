using System.Buffers;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Collects the items of an array being built in a pooled buffer; <see cref="ToValue"/> copies them out once.</summary>
/// <remarks>A mutable struct: keep it in a local and pass it by reference. Not thread-safe.</remarks>
internal struct ValueList
{
    private JValue[]? _buffer;
    private int _count;

    public readonly int Count => _count;

    public readonly ReadOnlySpan<JValue> Items => _buffer.AsSpan(0, _count);

    public void Add(in JValue value)
    {
        if (_buffer is null || _count == _buffer.Length)
        {
            Grow();
        }

        _buffer![_count++] = value;
    }

    /// <summary>The array value holding the items, charged to the budget; the buffer goes back to the pool.</summary>
    public JValue ToValue(ref EvalContext context, int offset)
    {
        context.Build(_count, offset);
        JValue[] items = _count == 0 ? [] : Items.ToArray();
        Dispose();
        return JValue.FromArray(items);
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<JValue>.Shared.Return(_buffer, clearArray: true);
            _buffer = null;
            _count = 0;
        }
    }

    private void Grow()
    {
        JValue[] bigger = ArrayPool<JValue>.Shared.Rent(_buffer is null ? 8 : _buffer.Length * 2);
        if (_buffer is not null)
        {
            Items.CopyTo(bigger);
            ArrayPool<JValue>.Shared.Return(_buffer, clearArray: true);
        }

        _buffer = bigger;
    }
}
