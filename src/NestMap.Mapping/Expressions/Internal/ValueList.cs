using System.Buffers;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// Collects the items of an array being built: the first eight on the stack, more in a pooled buffer;
/// <see cref="ToValue"/> copies them out once into an array of the exact size.
/// </summary>
/// <remarks>A mutable struct: keep it in a local and pass it by reference. Not thread-safe.</remarks>
internal struct ValueList
{
    private const int InlineCapacity = 8;

    private ValueBuffer8 _inline;
    private JValue[]? _buffer;
    private int _count;

    public readonly int Count => _count;

    public void Add(in JValue value)
    {
        if (_buffer is null)
        {
            if (_count < InlineCapacity)
            {
                _inline[_count++] = value;
                return;
            }

            _buffer = ArrayPool<JValue>.Shared.Rent(InlineCapacity * 4);
            ((ReadOnlySpan<JValue>)_inline).CopyTo(_buffer);
        }
        else if (_count == _buffer.Length)
        {
            JValue[] bigger = ArrayPool<JValue>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _count).CopyTo(bigger);
            ArrayPool<JValue>.Shared.Return(_buffer, clearArray: true);
            _buffer = bigger;
        }

        _buffer[_count++] = value;
    }

    /// <summary>The array value holding the items, charged to the budget; a pooled buffer goes back to the pool.</summary>
    public JValue ToValue(ref EvalContext context, int offset)
    {
        context.Build(_count, offset);
        JValue[] items;
        if (_count == 0)
        {
            items = [];
        }
        else if (_buffer is null)
        {
            items = ((ReadOnlySpan<JValue>)_inline)[.._count].ToArray();
        }
        else
        {
            items = _buffer.AsSpan(0, _count).ToArray();
        }

        Dispose();
        return JValue.FromArray(items);
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<JValue>.Shared.Return(_buffer, clearArray: true);
            _buffer = null;
        }

        _count = 0;
    }
}
