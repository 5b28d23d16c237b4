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

    public static TheoryData<string, int> Suites()
    {
        var data = new TheoryData<string, int>();
        string? folder = SharedFiles.Find(Folder);
        if (folder is null)
        {
            data.Add("(absent)", 0);
            return data;
        }

        foreach (string file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file) == "schema.json")
            {
                continue;
            }

            using var document = JsonDocument.Parse(File.ReadAllText(file));
            for (int suite = 0; suite < document.RootElement.GetArrayLength(); suite++)
            {
                data.Add(Path.GetFileName(file), suite);
            }
        }

        return data;
    }

    /// <summary>
    /// Every suite's expressions compiled as one set (<see cref="JmesPath.CompileSet"/>) over the suite's input, where
    /// they share leading lookups: each member must give what it gives alone, value or error, evaluated and streamed.
    /// </summary>
    [Theory]
    [MemberData(nameof(Suites))]
    public void Suite_AsOneExpressionSet_GivesWhatEachExpressionGivesAlone(string file, int suite)
    {
        string? folder = SharedFiles.Find(Folder);
        if (folder is null)
        {
            Assert.Skip("../shared/conformance/jmespath is not beside the repository");
        }

        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, file)));
        JsonElement suiteElement = document.RootElement[suite];
        JsonElement given = suiteElement.GetProperty("given");
        ExpressionPolicy policy = file.StartsWith("legacy", StringComparison.Ordinal) ? s_legacyPolicy : s_policy;
        var expressions = new List<string>();
        foreach (JsonElement c in suiteElement.GetProperty("cases").EnumerateArray())
        {
            string expression = c.GetProperty("expression").GetString()!;
            try
            {
                JmesPath.Compile(expression, policy);
                expressions.Add(expression);
            }
            catch (ExpressionException)
            {
                // A compile error is the set's error as a whole: CompileSet's own tests cover it.
            }
        }

        // Every member twice on one evaluation, the second pass in reverse order: all read the one evaluation's shared
        // lookups, and a member's variables must not disturb another's or its own next run.
        ExpressionSetEvaluation evaluation = JmesPath.CompileSet(expressions, policy).Evaluate(given);
        int[] order = [.. Enumerable.Range(0, expressions.Count), .. Enumerable.Range(0, expressions.Count).Reverse()];
        foreach (int i in order)
        {
            CompiledExpression alone = JmesPath.Compile(expressions[i], policy);
            Assert.Equal(Outcome(alone, given), Outcome(evaluation, i));
            Assert.Equal(StreamedOutcome(alone, given), StreamedOutcome(evaluation, i));
        }
    }

    /// <summary>The value with its missing flag and steps, or the error.</summary>
    internal static string Outcome(CompiledExpression alone, JsonElement input)
    {
        try
        {
            return Describe(alone.EvaluateValue(input));
        }
        catch (ExpressionException e)
        {
            return $"error {e.Code}: {e.Message}";
        }
    }

    /// <summary>As <see cref="Outcome(CompiledExpression, JsonElement)"/>, for a member of a set's evaluation.</summary>
    internal static string Outcome(ExpressionSetEvaluation evaluation, int index)
    {
        try
        {
            return Describe(evaluation.EvaluateValue(index));
        }
        catch (ExpressionException e)
        {
            return $"error {e.Code}: {e.Message}";
        }
    }

    private static string Describe(ExpressionValue value) => $"{value} (missing: {value.IsMissing}, steps: {value.Steps})";

    /// <summary>What EvaluateTo writes and returns, or the error.</summary>
    internal static string StreamedOutcome(CompiledExpression alone, JsonElement input)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        try
        {
            using var writer = new Utf8JsonWriter(buffer);
            bool found = alone.EvaluateTo(input, writer);
            writer.Flush();
            return $"{System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)} (found: {found})";
        }
        catch (ExpressionException e)
        {
            return $"error {e.Code}: {e.Message}";
        }
    }

    /// <summary>As <see cref="StreamedOutcome(CompiledExpression, JsonElement)"/>, for a member of a set's evaluation.</summary>
    internal static string StreamedOutcome(ExpressionSetEvaluation evaluation, int index)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        try
        {
            using var writer = new Utf8JsonWriter(buffer);
            bool found = evaluation.EvaluateTo(index, writer);
            writer.Flush();
            return $"{System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)} (found: {found})";
        }
        catch (ExpressionException e)
        {
            return $"error {e.Code}: {e.Message}";
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
