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
            double ours = double.MaxValue, hand = double.MaxValue;
            for (int round = 0; round < 7; round++)
            {
                long start = clock.GetTimestamp();
                for (int n = 0; n < Iterations; n++)
                {
                    harness.RunOurs(i);
                }

                ours = Math.Min(ours, clock.GetElapsedTime(start).TotalNanoseconds / Iterations);
                start = clock.GetTimestamp();
                for (int n = 0; n < Iterations; n++)
                {
                    harness.RunHandWritten(i);
                }

                hand = Math.Min(hand, clock.GetElapsedTime(start).TotalNanoseconds / Iterations);
            }

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
    }
}
