using System.Text.Json;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Tests;

/// <summary>Measures what evaluations allocate on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>The bytes 100 evaluations of <paramref name="compiled"/> allocate, after one evaluation to warm up.</summary>
    public static long OfEvaluateValue(CompiledExpression compiled, JsonElement input)
    {
        compiled.EvaluateValue(input);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            compiled.EvaluateValue(input);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
