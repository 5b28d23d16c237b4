using System.Text.Json;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Tests;

/// <summary>
/// The JMESPath community compliance suite (<c>../shared/conformance/jmespath</c>), one test per case. Cases whose
/// expected error kind we raise differently, or that we do not support, are listed in <see cref="s_skips"/> with the reason.
/// </summary>
public sealed class ConformanceTests
{
    private const string Folder = "conformance/jmespath";

    /// <summary>The suite tests the language, not the sandbox: no path-depth limit here.</summary>
    private static readonly ExpressionPolicy s_policy = new() { MaxPathDepth = int.MaxValue };

    /// <summary>The legacy-literal file is the suite run with JEP-12's deprecated literal form switched on.</summary>
    private static readonly ExpressionPolicy s_legacyPolicy = new() { MaxPathDepth = int.MaxValue, AllowLegacyLiterals = true };

    /// <summary>Cases skipped, keyed by "file: expression", each with its reason.</summary>
    private static readonly Dictionary<string, string> s_skips = new(StringComparer.Ordinal)
    {
    };

    public static TheoryData<string, int, int, string> Cases()
    {
        var data = new TheoryData<string, int, int, string>();
        string? folder = SharedFiles.Find(Folder);
        if (folder is null)
        {
            data.Add("(absent)", 0, 0, "../shared/conformance/jmespath is not beside the repository");
            return data;
        }

        foreach (string file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file) == "schema.json")
            {
                continue; // The JSON Schema of the test files, not a test file.
            }

            using var document = JsonDocument.Parse(File.ReadAllText(file));
            int suite = 0;
            foreach (JsonElement s in document.RootElement.EnumerateArray())
            {
                int index = 0;
                foreach (JsonElement c in s.GetProperty("cases").EnumerateArray())
                {
                    data.Add(Path.GetFileName(file), suite, index++, c.GetProperty("expression").GetString()!);
                }

                suite++;
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string file, int suite, int index, string expression)
    {
        string? folder = SharedFiles.Find(Folder);
        if (folder is null)
        {
            Assert.Skip(expression);
        }

        if (s_skips.TryGetValue(file + ": " + expression, out string? reason))
        {
            Assert.Skip(reason);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, file)));
        JsonElement suiteElement = document.RootElement[suite];
        JsonElement given = suiteElement.GetProperty("given");
        JsonElement testCase = suiteElement.GetProperty("cases")[index];
        ExpressionPolicy policy = file.StartsWith("legacy", StringComparison.Ordinal) ? s_legacyPolicy : s_policy;

        if (testCase.TryGetProperty("error", out JsonElement error))
        {
            ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression, policy).EvaluateValue(given).ToString());
            Assert.True(error.GetString() == e.ErrorType, $"expected a '{error.GetString()}' error, got '{e.ErrorType}': {e.Message}");
            ExpressionException streamed = Assert.Throws<ExpressionException>(() => Streamed(JmesPath.Compile(expression, policy), given));
            Assert.Equal(e.ErrorType, streamed.ErrorType);
            return;
        }

        CompiledExpression compiled = JmesPath.Compile(expression, policy);
        string actual = compiled.EvaluateValue(given).ToString();

        // Every case also runs through the streaming writer, which must write exactly what evaluation returns.
        JsonAssert.Equal(actual, Streamed(compiled, given), "EvaluateTo: " + expression);
        if (testCase.TryGetProperty("result", out JsonElement expected))
        {
            JsonAssert.Equal(expected.GetRawText(), actual, expression);
        }
        else
        {
            // Benchmark cases carry no result: they must compile and evaluate without error, and stream the same value
            // as they evaluate to (checked above); parsing a JsonDocument can never yield Undefined, so no more to check.
            Assert.True(testCase.TryGetProperty("bench", out _), "a case needs a result, an error or a bench kind");
        }
    }

    private static string Streamed(CompiledExpression compiled, JsonElement input)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            compiled.EvaluateTo(input, writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
