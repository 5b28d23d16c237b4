namespace NestMap.Benchmarks;

/// <summary>
/// A quick probe (not a benchmark): per field of <see cref="MappingWorkload"/>, our evaluation time over the hand-written
/// code's, from interleaved timed loops. For finding hot spots in seconds; the figures that count come from
/// BenchmarkDotNet (<see cref="ExpressionCostBenchmarks"/>).
/// </summary>
internal static class ExpressionCostProbe
{
    public static void Run(TextWriter output)
    {
        using var harness = new MappingHarness();
        TimeProvider clock = TimeProvider.System;
        const int Iterations = 20_000;
        for (int i = 0; i < MappingWorkload.Fields.Length; i++)
        {
            (double ours, double hand) = Time(harness, i, Iterations);
            double evaluate = double.MaxValue;
            var compiled = NestMap.Mapping.Expressions.JmesPath.Compile(MappingWorkload.Fields[i].Expression, MappingWorkload.Policy);
            using var document = System.Text.Json.JsonDocument.Parse(MappingWorkload.Json);
            for (int round = 0; round < 7; round++)
            {
                long start = clock.GetTimestamp();
                for (int n = 0; n < Iterations; n++)
                {
                    compiled.EvaluateValue(document.RootElement);
                }

                evaluate = Math.Min(evaluate, clock.GetElapsedTime(start).TotalNanoseconds / Iterations);
            }

            double write = double.MaxValue;
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
            using var writer = new System.Text.Json.Utf8JsonWriter(buffer);
            var value = compiled.EvaluateValue(document.RootElement);
            for (int round = 0; round < 7; round++)
            {
                long start = clock.GetTimestamp();
                for (int n = 0; n < Iterations; n++)
                {
                    buffer.ResetWrittenCount();
                    writer.Reset(buffer);
                    value.WriteTo(writer);
                    writer.Flush();
                }

                write = Math.Min(write, clock.GetElapsedTime(start).TotalNanoseconds / Iterations);
            }

            output.WriteLine($"{MappingWorkload.Fields[i].Name,-12} ours {ours,8:0} ns (evaluate {evaluate,6:0}, write {write,6:0})  hand {hand,8:0} ns  ratio {ours / hand,5:0.00}  extra {ours - hand,6:0} ns");
        }

        // What each item of order.items costs us over the hand-written loop: the extra time over the order with 6 items
        // and over the same order with them repeated to 60, the difference divided by the 54 items added.
        output.WriteLine();
        output.WriteLine("per item of order.items (6 and 60 items), over the hand-written code:");
        using var repeated = new MappingHarness(MappingWorkload.WithItemsRepeated(10));
        for (int i = 0; i < MappingWorkload.Fields.Length; i++)
        {
            if (!MappingWorkload.Fields[i].Expression.Contains("order.items", StringComparison.Ordinal))
            {
                continue;
            }

            (double ours6, double hand6) = Time(harness, i, Iterations);
            (double ours60, double hand60) = Time(repeated, i, Iterations / 10);
            double perItem = ((ours60 - hand60) - (ours6 - hand6)) / 54;
            output.WriteLine($"{MappingWorkload.Fields[i].Name,-12} extra {ours6 - hand6,6:0} ns at 6 items, {ours60 - hand60,6:0} ns at 60: {perItem,5:0.0} ns per item");
        }
    }

    /// <summary>The best of seven interleaved timed loops of one field, ours and hand-written, in nanoseconds per call.</summary>
    private static (double Ours, double Hand) Time(MappingHarness harness, int field, int iterations)
    {
        TimeProvider clock = TimeProvider.System;
        double ours = double.MaxValue, hand = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            long start = clock.GetTimestamp();
            for (int n = 0; n < iterations; n++)
            {
                harness.RunOurs(field);
            }

            ours = Math.Min(ours, clock.GetElapsedTime(start).TotalNanoseconds / iterations);
            start = clock.GetTimestamp();
            for (int n = 0; n < iterations; n++)
            {
                harness.RunHandWritten(field);
            }

            hand = Math.Min(hand, clock.GetElapsedTime(start).TotalNanoseconds / iterations);
        }

        return (ours, hand);
    }
}
