using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Specs;

namespace NestMap.Benchmarks;

/// <summary>
/// Issue 6: what the mapping layer costs over evaluating its expressions, with tracing off and on. The baseline
/// evaluates the 20 expressions of <see cref="MappingWorkload"/> as one expression set (as a compiled mapping does) and
/// writes them as one object, which is the least any mapping must do; <c>MapTraceOff</c> runs the same fields as a
/// compiled spec (missing/default handling, output tree, result object), <c>MapTraceOn</c> also times and records
/// every field.
/// </summary>
[MemoryDiagnoser]
public class MappingTraceBenchmarks : IDisposable
{
    private readonly JsonDocument _document = JsonDocument.Parse(MappingWorkload.Json);
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly CompiledExpressionSet _expressions = JmesPath.CompileSet(MappingWorkload.Fields.Select(f => f.Expression), MappingWorkload.Policy);
    private readonly CompiledMapping _off = MappingCompiler.Compile(Spec(), new MappingOptions { Trace = false });
    private readonly CompiledMapping _on = MappingCompiler.Compile(Spec(), new MappingOptions { Trace = true });

    [GlobalSetup]
    public void Setup()
    {
        // The three produce the same output.
        int length = ExpressionsOnly();
        using JsonDocument baseline = JsonDocument.Parse(_buffer.WrittenMemory[..length].ToArray());
        using JsonDocument off = JsonDocument.Parse(_off.Map(_document.RootElement).Output);
        using JsonDocument on = JsonDocument.Parse(_on.Map(_document.RootElement).Output);
        if (!JsonElement.DeepEquals(baseline.RootElement, off.RootElement) || !JsonElement.DeepEquals(off.RootElement, on.RootElement))
        {
            throw new InvalidOperationException("The mapping and the plain evaluation disagree.");
        }
    }

    [Benchmark(Baseline = true)]
    public int ExpressionsOnly()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        writer.WriteStartObject();
        ExpressionSetEvaluation evaluation = _expressions.Evaluate(_document.RootElement);
        for (int i = 0; i < _expressions.Count; i++)
        {
            ExpressionValue value = evaluation.EvaluateValue(i);
            if (!value.IsMissing)
            {
                writer.WritePropertyName(MappingWorkload.Fields[i].Name);
                value.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int MapTraceOff() => _off.Map(_document.RootElement).Output.Length;

    [Benchmark]
    public int MapTraceOn() => _on.Map(_document.RootElement).Traces.Count;

    /// <inheritdoc/>
    public void Dispose()
    {
        _document.Dispose();
        GC.SuppressFinalize(this);
    }

    private static MappingSpec Spec()
    {
        var yaml = new StringBuilder("mapping: bench\nversion: 1\nfields:\n");
        foreach ((string name, string expression) in MappingWorkload.Fields)
        {
            yaml.Append("  ").Append(name).Append(": '").Append(expression.Replace("'", "''", StringComparison.Ordinal)).Append("'\n");
        }

        return MappingSpec.Parse(yaml.ToString());
    }
}
