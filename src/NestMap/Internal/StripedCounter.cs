using System.Numerics;
using System.Runtime.InteropServices;

namespace NestMap.Internal;

/// <summary>
/// A 64-bit counter split into cache-line-padded cells so that threads on different processors do not contend on
/// one cache line; the value is the sum of the cells.
/// </summary>
/// <remarks>
/// Thread-safe. <see cref="Add"/> is an interlocked add on the cell of the current processor. <see cref="Sum"/> reads
/// the cells one after another without a lock, so while writers run it may return a value that never existed at one
/// instant (even a negative one when an increment and its matching decrement land on different cells); at quiescence
/// it is exact. Callers that expose it clamp it to zero.
/// </remarks>
internal sealed class StripedCounter
{
    private readonly Cell[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(Environment.ProcessorCount, 64));
        _cells = new Cell[size];
        _mask = size - 1;
    }

    public void Add(long delta) => Interlocked.Add(ref _cells[Thread.GetCurrentProcessorId() & _mask].Value, delta);

    public void Increment() => Add(1);

    public void Decrement() => Add(-1);

    public long Sum()
    {
        long sum = 0;
        foreach (ref var cell in _cells.AsSpan())
        {
            sum += Volatile.Read(ref cell.Value);
        }

        return sum;
    }

    /// <summary>One counter cell, alone on its own pair of cache lines (adjacent-line prefetch pulls lines in pairs).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Cell
    {
        [FieldOffset(64)]
        public long Value;
    }
}
