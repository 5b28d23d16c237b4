namespace NestMap.Benchmarks;

/// <summary>The benchmark's key space: random 64-bit outer and inner keys, and a uniform random sequence of operations over them.</summary>
public sealed class KeySpace
{
    public KeySpace(int outers, int innersPerOuter, int operations, double writeFraction, int seed = 42)
    {
        var random = new Random(seed);
        Outers = Distinct(random, outers);
        Inners = Distinct(random, innersPerOuter);
        OpOuter = new long[operations];
        OpInner = new long[operations];
        OpIsWrite = new bool[operations];
        for (var i = 0; i < operations; i++)
        {
            OpOuter[i] = Outers[random.Next(outers)];
            OpInner[i] = Inners[random.Next(innersPerOuter)];
            OpIsWrite[i] = random.NextDouble() < writeFraction;
        }
    }

    /// <summary>Gets the outer keys.</summary>
    public long[] Outers { get; }

    /// <summary>Gets the inner keys, the same under every outer key.</summary>
    public long[] Inners { get; }

    public long[] OpOuter { get; }

    public long[] OpInner { get; }

    public bool[] OpIsWrite { get; }

    /// <summary>Calls <paramref name="set"/> for every (outer, inner) pair, outer-major: how the structures are filled.</summary>
    public void ForEachPair(Action<long, long> set)
    {
        foreach (var o in Outers)
        {
            foreach (var i in Inners)
            {
                set(o, i);
            }
        }
    }

    private static long[] Distinct(Random random, int count)
    {
        var set = new HashSet<long>();
        while (set.Count < count)
        {
            set.Add(random.NextInt64());
        }

        return [.. set];
    }
}
