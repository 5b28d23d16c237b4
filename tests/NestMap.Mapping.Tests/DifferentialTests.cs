using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using NestMap.Mapping.Expressions;
using NetJmesPath = DevLab.JmesPath.JmesPath;

namespace NestMap.Mapping.Tests;

/// <summary>
/// Differential test against JmesPath.Net 1.1.0 (<c>DevLab.JmesPath</c>): random documents and random expressions
/// from a grammar subset both engines implement; both must raise the same kind of error or give equal JSON.
/// </summary>
/// <remarks>
/// <para>
/// Our engine follows the JMESPath community specification (<c>../shared/specs/jmespath/SPECIFICATION.md</c>,
/// <c>GRAMMAR.ABNF</c>, <c>functions/*.yml</c>) and its compliance suite; <c>docs/jmespath-differences.md</c> tabulates
/// where JmesPath.Net does otherwise and <see cref="KnownDifference"/> pins each row to both engines' behaviour. Where the
/// spec is silent, jmespath.py (the reference implementation) decided which side deviates. The generator keeps clear of
/// the differences; each exclusion and its reason:
/// </para>
/// <list type="number">
/// <item>Ordering <c>&lt; &lt;= &gt; &gt;=</c> of two strings: JmesPath.Net orders them, the spec says ordering is only
/// valid for numbers (<c>null</c>). Generated orderings have a number literal on one side.</item>
/// <item>Integers versus integral doubles: JmesPath.Net keeps Newtonsoft's long/double distinction, so <c>`1` == `1.0`</c>
/// is false and <c>to_string(avg(`[1,1]`))</c> is <c>"1.0"</c>; the spec compares numbers by value. Documents and literals
/// hold integers only, fractions appear only as the direct argument of <c>ceil</c>/<c>floor</c>/<c>to_string</c>, and
/// <c>avg</c> only as the whole expression.</item>
/// <item><c>to_number</c> of <c>' 1'</c>, <c>'+1'</c>, <c>'.5'</c>: JmesPath.Net parses them, the spec accepts only a JSON
/// number. Generated strings avoid these shapes.</item>
/// <item><c>max_by</c>/<c>min_by</c>: JmesPath.Net rejects string keys, accepts mixed or array keys, skips the key of a
/// one-element array and returns the last of equal keys. Generated keys are numbers (<c>not_null(to_number(p), `0`)</c>
/// over a path that cannot fail) and the result is piped through the key.</item>
/// <item><c>sort</c> of an all-boolean array: JmesPath.Net returns the booleans as strings. Generated <c>sort</c>
/// arguments are piped through <c>[?type(@) != 'boolean']</c>.</item>
/// <item><c>!</c> binds tighter than <c>.</c>, <c>[]</c> and filters in jmespath.py and here (<c>!a.b</c> is
/// <c>(!a).b</c>); JmesPath.Net negates the whole path. A generated <c>!</c> takes a primary or parentheses.</item>
/// <item>Parentheses stop a projection here and in jmespath.py (<c>(*.x).a</c> is null); JmesPath.Net projects through
/// them. A generated parenthesised expression takes no further segments.</item>
/// <item>JSON nulls in projections: the spec drops null results; JmesPath.Net drops missing values only and keeps JSON
/// nulls from <c>*</c>, slices and filters. Documents and literals hold no null, and a final result equal up to such
/// nulls is counted, not failed.</item>
/// <item><c>contains</c> of a string and a non-string: the spec says <c>false</c>, JmesPath.Net crashes. The search
/// argument is a string or a number. JmesPath.Net also raises cast exceptions instead of <c>invalid-type</c> elsewhere
/// (<c>merge(`{}`, `null`)</c>, <c>sort</c> of objects); such a crash agrees with any error of ours.</item>
/// <item>JmesPath.Net leaks parser state between expressions, even across instances: after <c>map(&amp;[*], x)</c> a later
/// <c>to_string([*])</c> fails with <c>invalid-type</c>, and after <c>map(&amp;*, x)</c> <c>length(*)</c> throws a null
/// reference. Generated expression arguments are written <c>&amp;(@ | e)</c>, and the pairs run on one thread.</item>
/// <item>Not generated: arithmetic (JmesPath.Net has it, with double results and
/// <c>null</c> for non-numbers where we raise <c>invalid-type</c>), <c>let</c>, <c>$</c> and the JEP-14 string functions
/// (JmesPath.Net has them; outside the subset under test); the ternary and <c>??</c> (JmesPath.Net lacks them).</item>
/// </list>
/// <para>
/// Up to about one disagreement in a thousand pairs remains. Every one classified so far was JmesPath.Net's: JSON nulls
/// kept by a projection on their way into a function or a comparison, a slice whose start lies outside the array or
/// string while the step is not 1 (<c>`[1,2,3]`[3::-2]</c> is <c>[2]</c> there, <c>[3,1]</c> here and in Python), or a
/// crash on a wrong type. The test prints every disagreement and fails above one in five hundred.
/// </para>
/// </remarks>
public sealed class DifferentialTests
{
    private const int Iterations = 10000;

    private const int Pipe = 0;
    private const int Or = 1;
    private const int And = 2;
    private const int Comparison = 3;
    private const int Not = 4;
    private const int Atom = 5;
    private const int Primary = 6;

    private const int MaxDepth = 3;

    /// <summary>The differential test is about the language, not the sandbox: no path-depth limit.</summary>
    private static readonly ExpressionPolicy s_policy = new() { MaxPathDepth = int.MaxValue };

    /// <summary>JmesPath.Net raises <c>Exception("Error: invalid-type, ...")</c> or <c>Exception("Error(1, 9): syntax, ...")</c>.</summary>
    private static readonly Regex s_netErrorKind = new(@"^Error(\(\d+, ?\d+\))?: (?<kind>[a-z-]+)", RegexOptions.CultureInvariant);

    private static readonly string[] s_keys = ["a", "b", "c", "foo", "bar"];

    /// <summary>Strings for documents and raw strings: no quote, backslash or backtick, and numeric ones are JSON numbers.</summary>
    private static readonly string[] s_strings = ["", "a", "b", "foo", "bar", "ab", "ba", "A", "1", "-2", "10", "x y"];

    private static readonly Gen<string> s_integer = Gen.Int[-10, 10].Select(i => i.ToString(CultureInfo.InvariantCulture));

    private static readonly Gen<string> s_fraction = Gen.Int[-40, 40].Where(i => i % 4 != 0).Select(i => (i / 4.0).ToString("R", CultureInfo.InvariantCulture));

    private static readonly Gen<string> s_jsonString = Gen.OneOf(s_strings).Select(s => JsonSerializer.Serialize(s));

    private static readonly Gen<string>[] s_json = BuildJson();

    private static readonly Gen<string> s_document = Object(s_json[2], Gen.Int[0, 3].Select(i => i != 0));

    private static readonly Generators s_expressions = new();

    /// <summary>Both engines agree on random expressions over random documents.</summary>
    [Fact]
    public void RandomExpressions_AgreeWithJmesPathNet()
    {
        int values = 0, errors = 0, nonNull = 0, projectedNulls = 0, netRetries = 0;
        var disagreements = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Gen.Select(s_document, s_expressions.Root).Sample(
            (document, expression) =>
            {
                Outcome ours = RunOurs(document, expression);
                Outcome theirs = RunNet(document, expression);
                if (!Agree(ours, theirs))
                {
                    // JmesPath.Net keeps state between calls (even across instances): after some failed evaluations
                    // the next one can fail spuriously. A second run of the same pair gives its real answer.
                    theirs = RunNet(document, expression);
                    Interlocked.Increment(ref netRetries);
                }

                if (!Agree(ours, theirs))
                {
                    if (!AgreeUpToProjectedNulls(ours, theirs))
                    {
                        disagreements.Enqueue($"expression: {expression}\ndocument:   {document}\nours:       {ours}\nJmesPath.Net: {theirs}");
                        return;
                    }

                    Interlocked.Increment(ref projectedNulls);
                }

                if (ours.Json is null)
                {
                    Interlocked.Increment(ref errors);
                }
                else
                {
                    Interlocked.Increment(ref values);
                    if (ours.Json != "null")
                    {
                        Interlocked.Increment(ref nonNull);
                    }
                }
            },
            iter: Iterations,
            threads: 1); // JmesPath.Net is not safe to run on several threads at once, even with an instance per thread.

        TestContext.Current.TestOutputHelper?.WriteLine($"{Iterations} pairs: {values} values ({nonNull} not null), {errors} errors on both sides, {projectedNulls} equal only up to projected nulls, {disagreements.Count} disagreements");
        foreach (string d in disagreements)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(d);
        }

        // What is left are JmesPath.Net deviations the generator cannot steer around (see the class remarks): rare, and
        // printed above. A disagreement rate above this bound means something new, on one side or the other.
        Assert.True(disagreements.Count <= Iterations / 500, $"{disagreements.Count} disagreements:\n" + string.Join("\n", disagreements.Take(10)));

        // The test means something only if most pairs evaluate and many give more than null.
        Assert.True(values > Iterations / 2, $"only {values} of {Iterations} pairs evaluated without error");
        Assert.True(nonNull > Iterations / 5, $"only {nonNull} of {Iterations} pairs gave a non-null value");
    }

    /// <summary>
    /// The fast paths that <c>Compiler.GeneralPathsOnly</c> turns off (shared lookups in multi-selects, folds, in-place
    /// <c>contains</c>) against the general path, on random multi-selects of random expressions over random documents: the value, or the error with its kind,
    /// code, detail and position, evaluated and streamed, must be the same. The documents use few keys and a member
    /// repeats, so members share leading fields often.
    /// </summary>
    [Fact]
    public void RandomMultiSelects_WithFastPaths_AgreeWithTheGeneralPath()
    {
        var mismatches = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int shared = 0;
        Gen.Select(s_document, s_expressions.Root, s_expressions.Root, s_expressions.Root, Gen.Bool).Sample(
            (document, a, b, c, asList) =>
            {
                string expression = asList ? $"[{a}, {b}, {c}, {a}]" : $"{{x: {a}, y: {b}, z: {c}, w: {a}}}";
                string general = RunBothWays(document, expression, generalPathsOnly: true);
                string fast = RunBothWays(document, expression, generalPathsOnly: false);
                if (general != fast)
                {
                    mismatches.Enqueue($"expression: {expression}\ndocument:   {document}\ngeneral:    {general}\nfast:       {fast}");
                }

                if (!general.StartsWith("error", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref shared);
                }
            },
            iter: Iterations / 2);

        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(5)));
        // Any member's error fails the whole multi-select (about a third of random expressions fail alone), so a third
        // or so evaluate; errors are compared too, but values must be common enough to mean something.
        Assert.True(shared > Iterations / 10, $"only {shared} of {Iterations / 2} multi-selects evaluated without error");
    }

    /// <summary>
    /// Random expressions compiled as one set (<see cref="JmesPath.CompileSet"/>), sharing leading lookups, against each
    /// compiled alone: the set's compile error is the first member's, and each member's value, or its error with kind,
    /// code, detail and position, evaluated and streamed, is the same as alone. A member repeats, so sets share often.
    /// </summary>
    [Fact]
    public void RandomExpressionSets_AgreeWithEachExpressionAlone()
    {
        var mismatches = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int sets = 0;
        Gen.Select(s_document, s_expressions.Root, s_expressions.Root, s_expressions.Root).Sample(
            (document, a, b, c) =>
            {
                string[] expressions = [a, b, c, a];
                using var parsed = JsonDocument.Parse(document);
                string alone, inSet;
                CompiledExpressionSet set;
                try
                {
                    set = JmesPath.CompileSet(expressions, s_policy);
                }
                catch (ExpressionException e)
                {
                    // The set's compile error is its first member's that does not compile alone.
                    alone = FirstCompileError(expressions) ?? "no compile error";
                    inSet = $"compile error {e.Code} {e.Detail} @{e.Offset} in {e.Expression}";
                    if (alone != inSet)
                    {
                        mismatches.Enqueue($"expressions: {string.Join(" ; ", expressions)}\nalone:       {alone}\nin a set:    {inSet}");
                    }

                    return;
                }

                // Every member twice on one evaluation, the second pass in reverse order, as each is alone.
                ExpressionSetEvaluation evaluation = set.Evaluate(parsed.RootElement);
                foreach (int i in (int[])[0, 1, 2, 3, 3, 2, 1, 0])
                {
                    CompiledExpression single = JmesPath.Compile(expressions[i], s_policy);
                    alone = ConformanceTests.Outcome(single, parsed.RootElement) + " | " + ConformanceTests.StreamedOutcome(single, parsed.RootElement);
                    inSet = ConformanceTests.Outcome(evaluation, i) + " | " + ConformanceTests.StreamedOutcome(evaluation, i);
                    if (alone != inSet)
                    {
                        mismatches.Enqueue($"expressions: {string.Join(" ; ", expressions)} (member {i})\ndocument:    {document}\nalone:       {alone}\nin a set:    {inSet}");
                    }
                }

                Interlocked.Increment(ref sets);
            },
            iter: Iterations / 2);

        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(5)));
        Assert.True(sets > Iterations / 10, $"only {sets} of {Iterations / 2} sets compiled");
    }

    private static string? FirstCompileError(string[] expressions)
    {
        foreach (string expression in expressions)
        {
            try
            {
                JmesPath.Compile(expression, s_policy);
            }
            catch (ExpressionException e)
            {
                return $"compile error {e.Code} {e.Detail} @{e.Offset} in {e.Expression}";
            }
        }

        return null;
    }

    private static string RunBothWays(string document, string expression, bool generalPathsOnly)
    {
        using var parsed = JsonDocument.Parse(document);
        CompiledExpression compiled;
        NestMap.Mapping.Expressions.Internal.Compiler.GeneralPathsOnly = generalPathsOnly;
        try
        {
            compiled = JmesPath.Compile(expression, s_policy);
        }
        catch (ExpressionException e)
        {
            return $"error {e.Code} {e.Detail} @{e.Offset}";
        }
        finally
        {
            NestMap.Mapping.Expressions.Internal.Compiler.GeneralPathsOnly = false;
        }

        string evaluated, streamed;
        try
        {
            evaluated = compiled.EvaluateValue(parsed.RootElement).ToString();
        }
        catch (ExpressionException e)
        {
            evaluated = $"error {e.Code} {e.Detail} @{e.Offset}";
        }

        try
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                compiled.EvaluateTo(parsed.RootElement, writer);
            }

            streamed = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (ExpressionException e)
        {
            streamed = $"error {e.Code} {e.Detail} @{e.Offset}";
        }

        return evaluated + " | streamed: " + streamed;
    }

    /// <summary>The rows of <c>docs/jmespath-differences.md</c>: each engine's documented result (<c>error:kind</c> for an error).</summary>
    [Theory]
    [InlineData("`null` | [@]", "{}", "[null]", "[null]")]
    [InlineData(@"'\\'", "{}", "\"\\\\\"", "\"\\\\\"")]
    [InlineData("'a' < 'b'", "{}", "null", "true")]
    [InlineData("`1` == `1.0`", "{}", "true", "false")]
    [InlineData("contains(`[1, 2]`, `1.0`)", "{}", "true", "false")]
    [InlineData("to_string(avg(`[1, 1]`))", "{}", "\"1\"", "\"1.0\"")]
    [InlineData("to_string(max(`[0.5, 1]`))", "{}", "\"1\"", "\"1.0\"")]
    [InlineData("to_string(`1e3`)", "{}", "\"1e3\"", "\"1000.0\"")]
    [InlineData("to_number(' 1')", "{}", "null", "1")]
    [InlineData("to_number('+1')", "{}", "null", "1")]
    [InlineData("to_number('.5')", "{}", "null", "0.5")]
    [InlineData("max_by(@, &a)", """[{"a": "x"}, {"a": "y"}]""", """{"a": "y"}""", "error:invalid-type")]
    [InlineData("min_by(@, &a)", """[{"a": 2}, {"a": "1"}]""", "error:invalid-type", """{"a": "1"}""")]
    [InlineData("min_by(@, &a)", """[{"a": [1]}]""", "error:invalid-type", """{"a": [1]}""")]
    [InlineData("max_by(@, &a)", """[{"a": 1, "b": 1}, {"a": 1, "b": 2}]""", """{"a": 1, "b": 1}""", """{"a": 1, "b": 2}""")]
    [InlineData("sort(@)", "[true, false]", "error:invalid-type", """["False", "True"]""")]
    [InlineData("merge(`{}`, `null`)", "{}", "error:invalid-type", "error:")]
    [InlineData("!a.b", """{"a": {"b": true}}""", "null", "false")]
    [InlineData("!a[]", """{"a": [[1]]}""", "null", "false")]
    [InlineData("`1` + 'x'", "{}", "error:invalid-type", "null")]
    [InlineData("*", """{"a": null, "b": 1}""", "[1]", "[null, 1]")]
    [InlineData("[:]", "[null, 1]", "[1]", "[null, 1]")]
    [InlineData("[?`true`]", "[null, 1]", "[1]", "[null, 1]")]
    [InlineData("(*.x).a", """{"a": {"x": 1}}""", "null", "[]")]
    [InlineData("contains('x', `null`)", "{}", "false", "error:")]
    [InlineData("`[1, 2, 3]`[3::-2]", "{}", "[3, 1]", "[2]")]
    [InlineData("'bar'[3::-2]", "{}", "\"rb\"", "\"a\"")]
    [InlineData("'1'[-2:3:2]", "{}", "\"1\"", "\"\"")]
    [InlineData("max_by(@, &to_number(a))", """[{"a": "x"}]""", "error:invalid-type", """{"a": "x"}""")]
    [InlineData("a ? b : c", """{"a": true, "b": 1, "c": 2}""", "1", "error:syntax")]
    [InlineData("a ?? b", """{"b": 2}""", "2", "error:syntax")]
    public void KnownDifference(string expression, string document, string ours, string theirs)
    {
        AssertOutcome(ours, RunOurs(document, expression), "ours");
        AssertOutcome(theirs, RunNet(document, expression), "JmesPath.Net");
    }

    /// <summary>
    /// What follows a projection applies to each element as a sub-expression, and a sub-expression of null is null
    /// (JEP-19), which the projection drops: null elements never reach the right-hand side. Found by the differential
    /// test (we evaluated multi-selects and functions on null elements); JmesPath.Net agrees for <c>[*]</c> and
    /// <c>[]</c> (it keeps the nulls of <c>*</c>, see the table).
    /// </summary>
    [Theory]
    [InlineData("[*].abs(@)", "[null]", "[]")]
    [InlineData("[*].[a]", "[null, {\"a\": 1}]", "[[1]]")]
    [InlineData("[*].{b: a}", "[null]", "[]")]
    [InlineData("[].[a]", "[null]", "[]")]
    [InlineData("*.[a]", """{"x": null}""", "[]")]
    public void Projection_SkipsNullElements(string expression, string document, string expected)
    {
        AssertOutcome(expected, RunOurs(document, expression), "ours");
    }

    private static void AssertOutcome(string expected, Outcome actual, string engine)
    {
        if (expected.StartsWith("error:", StringComparison.Ordinal))
        {
            Assert.True(actual.Json is null, $"{engine}: expected an error, got {actual.Json}");
            string kind = expected["error:".Length..];
            if (kind.Length > 0)
            {
                Assert.Equal(kind, actual.ErrorKind);
            }

            return;
        }

        Assert.True(actual.Json is not null, $"{engine}: expected {expected}, got {actual}");
        JsonAssert.Equal(expected, actual.Json, engine);
    }

    private static bool Agree(Outcome ours, Outcome theirs)
    {
        if (ours.Json is null || theirs.Json is null)
        {
            // A crash of JmesPath.Net (a cast exception) has no kind: any error of ours agrees with it.
            return ours.Json is null && theirs.Json is null && (theirs.ErrorKind is null || theirs.ErrorKind == ours.ErrorKind);
        }

        using var left = JsonDocument.Parse(ours.Json);
        using var right = JsonDocument.Parse(theirs.Json);
        return JsonAssert.DeepEqual(left.RootElement, right.RootElement);
    }

    /// <summary>
    /// Whether JmesPath.Net's result is ours with nulls kept where a slice or a hash wildcard projects them
    /// (<c>[a, zzz][:]</c> gives <c>[1, null]</c> there, <c>[1]</c> here and in jmespath.py).
    /// </summary>
    private static bool AgreeUpToProjectedNulls(Outcome ours, Outcome theirs)
    {
        if (ours.Json is null || theirs.Json is null)
        {
            return false;
        }

        using var left = JsonDocument.Parse(ours.Json);
        using var right = JsonDocument.Parse(theirs.Json);
        return StripNulls(left.RootElement) == StripNulls(right.RootElement) && ArrayNulls(left.RootElement) < ArrayNulls(right.RootElement);
    }

    private static string Compact(JsonElement element) => JsonSerializer.Serialize(element);

    private static int ArrayNulls(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => element.EnumerateArray().Sum(e => e.ValueKind == JsonValueKind.Null ? 1 : ArrayNulls(e)),
        JsonValueKind.Object => element.EnumerateObject().Sum(p => ArrayNulls(p.Value)),
        _ => 0,
    };

    /// <summary>Canonical text with nulls inside arrays removed and object members sorted by name.</summary>
    private static string StripNulls(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "[" + string.Join(",", element.EnumerateArray().Where(e => e.ValueKind != JsonValueKind.Null).Select(StripNulls)) + "]",
        JsonValueKind.Object => "{" + string.Join(",", element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => JsonSerializer.Serialize(p.Name) + ":" + StripNulls(p.Value))) + "}",
        JsonValueKind.Number => element.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        _ => Compact(element),
    };

    private static Outcome RunOurs(string document, string expression)
    {
        try
        {
            using var parsed = JsonDocument.Parse(document);
            return new Outcome(JmesPath.Compile(expression, s_policy).EvaluateValue(parsed.RootElement).ToString(), null);
        }
        catch (ExpressionException e)
        {
            return new Outcome(null, e.ErrorType);
        }
    }

    private static Outcome RunNet(string document, string expression)
    {
        try
        {
            return new Outcome(new NetJmesPath().Transform(document, expression), null);
        }
#pragma warning disable CA1031 // JmesPath.Net raises System.Exception (and, for some wrong types, cast exceptions).
        catch (Exception e)
#pragma warning restore CA1031
        {
            Match match = s_netErrorKind.Match(e.Message);
            return new Outcome(null, match.Success ? match.Groups["kind"].Value : null);
        }
    }

    private static Gen<string>[] BuildJson()
    {
        Gen<string> scalar = Gen.Frequency(
            (4, s_integer),
            (3, s_jsonString),
            (1, Gen.OneOf("true", "false")));
        var json = new Gen<string>[3];
        json[0] = scalar;
        for (int depth = 1; depth < json.Length; depth++)
        {
            Gen<string> inner = json[depth - 1];
            json[depth] = Gen.Frequency(
                (3, scalar),
                (2, inner.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
                (2, Object(inner, Gen.Bool)));
        }

        return json;
    }

    private static Gen<string> Object(Gen<string> value, Gen<bool> include) =>
        Gen.Select(include.Array[s_keys.Length], value.Array[s_keys.Length], (use, values) =>
            "{" + string.Join(",", s_keys.Select((k, i) => (k, i)).Where(p => use[p.i]).Select(p => $"\"{p.k}\":{values[p.i]}")) + "}");

    /// <summary>An evaluation's result: compact JSON, or the error kind (<c>null</c> kind for a JmesPath.Net crash).</summary>
    private sealed record Outcome(string? Json, string? ErrorKind)
    {
        public override string ToString() => Json ?? $"error ({ErrorKind ?? "crash"})";
    }

    /// <summary>Expression text with its precedence, so that a parent adds parentheses only where they are needed.</summary>
    private readonly record struct Expr(string Text, int Precedence)
    {
        public string At(int minimum) => Precedence < minimum ? "(" + Text + ")" : Text;
    }

    /// <summary>Expression generators, one set per nesting depth, each built from the previous depth.</summary>
    private sealed class Generators
    {
        private readonly Gen<Expr>[] _expression = new Gen<Expr>[MaxDepth + 1];
        private readonly Gen<Expr>[] _path = new Gen<Expr>[MaxDepth + 1];
        private readonly Gen<string>[] _condition = new Gen<string>[MaxDepth + 1];

        public Generators()
        {
            for (int depth = 0; depth <= MaxDepth; depth++)
            {
                Build(depth);
            }

            // avg makes doubles that JmesPath.Net compares and prints differently from integers: only at the top.
            Root = Gen.Frequency(
                (20, _expression[MaxDepth]),
                (1, _expression[MaxDepth - 1].Select(e => new Expr($"avg({e.Text})", Atom))))
                .Select(e => e.Text);
        }

        public Gen<string> Root { get; }

        private static Gen<string> Identifier { get; } = Gen.Frequency(
            (5, Gen.OneOf(s_keys)),
            (1, Gen.OneOf(s_keys).Select(k => $"\"{k}\"")));

        private static Gen<string> NumberLiteral { get; } = s_integer.Select(n => $"`{n}`");

        private static Gen<Expr> Literal { get; } = Gen.Frequency(
            (2, NumberLiteral),
            (2, s_json[1].Select(j => $"`{j}`")),
            (2, Gen.OneOf(s_strings).Select(s => $"'{s}'")))
            .Select(t => new Expr(t, Primary));

        private static Gen<string> Slice { get; } = Gen.Select(Bound(), Bound(), Gen.Frequency((4, Gen.Const("")), (3, Gen.Int[-2, 2].Select(i => ":" + i.ToString(CultureInfo.InvariantCulture)))), (start, stop, step) => $"[{start}:{stop}{step}]");

        /// <summary>A path that cannot raise an error: the key of <c>max_by</c>/<c>min_by</c> (see the class remarks).</summary>
        private static Gen<string> SimplePath { get; } = Gen.Select(
            Gen.Frequency((4, Identifier), (1, Gen.Const("@"))),
            Gen.Frequency(
                (2, Identifier.Select(i => "." + i)),
                (1, Gen.Int[-2, 2].Select(i => $"[{i}]")),
                (1, Gen.Const("[*]"))).Array[0, 2],
            (head, tail) => head + string.Concat(tail));

        private static Gen<string> Bound() => Gen.Frequency((1, Gen.Const("")), (2, Gen.Int[-3, 3].Select(i => i.ToString(CultureInfo.InvariantCulture))));

        private void Build(int depth)
        {
            Gen<Expr> simpleHead = Gen.Frequency(
                (6, Identifier.Select(i => new Expr(i, Primary))),
                (1, Gen.Const(new Expr("@", Primary))),
                (1, Gen.Const(new Expr("*", Primary))),
                (1, Gen.Const(new Expr("[*]", Primary))),
                (1, Gen.Const(new Expr("[]", Primary))),
                (1, Gen.Int[-3, 3].Select(i => new Expr($"[{i}]", Primary))),
                (2, Literal));
            var segments = new List<(int, IGen<string>)>
            {
                (6, Identifier.Select(i => "." + i)),
                (2, Gen.Int[-3, 3].Select(i => $"[{i}]")),
                (1, Slice),
                (2, Gen.Const("[*]")),
                (1, Gen.Const(".*")),
                (1, Gen.Const("[]")),
            };
            Gen<Expr> head = simpleHead;

            // A multi-select after a dot ends the path: JmesPath.Net keeps projecting past it (b[*].{x: c}.x).
            Gen<string> last = Gen.Const(string.Empty);
            if (depth > 0)
            {
                Gen<Expr> inner = _expression[depth - 1];
                Gen<string> condition = _condition[depth - 1];
                Gen<string> list = inner.Array[1, 3].Select(items => "[" + string.Join(", ", items.Select(e => e.Text)) + "]");
                Gen<string> hash = Gen.Select(Gen.Int[1, 31], inner.Array[s_keys.Length], (mask, values) =>
                    "{" + string.Join(", ", s_keys.Where((_, i) => (mask & (1 << i)) != 0).Select((k, i) => $"{k}: {values[i].Text}")) + "}");
                Gen<Expr> function = Functions(depth - 1);
                head = Gen.Frequency(
                    (8, simpleHead),
                    (3, function),
                    (1, list.Select(t => new Expr(t, Primary))),
                    (1, hash.Select(t => new Expr(t, Primary))),
                    (1, condition.Select(c => new Expr($"[?{c}]", Primary))));
                segments.Add((2, condition.Select(c => $"[?{c}]")));

                last = Gen.Frequency((12, Gen.Const(string.Empty)), (1, list.Select(l => "." + l)), (1, hash.Select(h => "." + h)));
            }

            Gen<Expr> path = Gen.Select(head, Gen.Frequency([.. segments]).Array[0, 3], last, (h, tail, end) =>
                tail.Length == 0 && end.Length == 0 ? h : new Expr(h.Text + string.Concat(tail) + end, Atom));
            _path[depth] = path;
            _condition[depth] = Condition(depth);

            if (depth == 0)
            {
                _expression[depth] = path;
                return;
            }

            Gen<Expr> sub = _expression[depth - 1];
            _expression[depth] = Gen.Frequency(
                (10, path),

                // A parenthesised expression takes no segments: JmesPath.Net keeps projecting through it ((*.x).a).
                (1, sub.Select(e => new Expr($"({e.Text})", Primary))),
                (2, Gen.Select(sub, sub, (l, r) => new Expr($"{l.At(Pipe)} | {r.At(Or)}", Pipe))),
                (1, Gen.Select(sub, sub, (l, r) => new Expr($"{l.At(Or)} || {r.At(And)}", Or))),
                (1, Gen.Select(sub, sub, (l, r) => new Expr($"{l.At(And)} && {r.At(Comparison)}", And))),
                (1, sub.Select(e => new Expr("!" + (e.Precedence == Not ? e.Text : e.At(Primary)), Not))),
                (2, Comparator(sub)));
        }

        /// <summary>A comparison; an ordering always has a number literal on one side (JmesPath.Net orders strings).</summary>
        private static Gen<Expr> Comparator(Gen<Expr> operand)
        {
            Gen<Expr> equality = Gen.Select(operand, Gen.OneOf("==", "!="), Gen.Frequency((2, operand), (1, Literal)), (l, op, r) =>
                new Expr($"{l.At(Atom)} {op} {r.At(Atom)}", Comparison));
            Gen<Expr> ordering = Gen.Select(operand, Gen.OneOf("<", "<=", ">", ">="), NumberLiteral, Gen.Bool, (e, op, n, numberFirst) =>
                new Expr(numberFirst ? $"{n} {op} {e.At(Atom)}" : $"{e.At(Atom)} {op} {n}", Comparison));
            return Gen.Frequency((1, equality), (1, ordering));
        }

        private Gen<string> Condition(int depth)
        {
            Gen<Expr> operand = _path[depth];
            Gen<Expr> leaf = Gen.Frequency((4, Comparator(operand)), (1, operand));
            if (depth == 0)
            {
                return leaf.Select(e => e.Text);
            }

            Gen<Expr> sub = _condition[depth - 1].Select(c => new Expr(c, Pipe));
            Gen<Expr> paren = sub.Select(e => new Expr($"({e.Text})", Atom));
            return Gen.Frequency(
                (4, leaf),
                (1, Gen.Select(leaf, paren, (l, r) => new Expr($"{l.At(And)} && {r.At(Comparison)}", And))),
                (1, Gen.Select(leaf, paren, (l, r) => new Expr($"{l.At(Or)} || {r.At(And)}", Or))),
                (1, paren.Select(e => new Expr("!" + e.Text, Not))))
                .Select(e => e.Text);
        }

        private Gen<Expr> Functions(int depth)
        {
            Gen<string> x = _expression[depth].Select(e => e.Text);
            Gen<string> text = Gen.Frequency((2, x), (1, Gen.OneOf(s_strings).Select(s => $"'{s}'")));
            Gen<string> key = SimplePath.Select(p => $"not_null(to_number({p}), `0`)");
            Gen<string> call = Gen.Frequency(
                (2, x.Select(a => $"length({a})")),
                (1, x.Select(a => $"keys({a})")),
                (1, x.Select(a => $"values({a})")),
                (1, x.Select(a => $"sort({a} | [?type(@) != 'boolean'])")),
                (1, Gen.Select(x, x, (a, k) => $"sort_by({a}, &(@ | {k}))")),
                (1, x.Select(a => $"max({a})")),
                (1, x.Select(a => $"min({a})")),
                (1, Gen.Select(Gen.OneOf("max_by", "min_by"), x, key, (f, a, k) => $"({f}({a}, &{k}) | {k})")),
                (1, x.Select(a => $"sum({a})")),
                (1, x.Select(a => $"abs({a})")),
                (1, Gen.Select(Gen.OneOf("ceil", "floor"), Gen.Frequency((2, x), (1, s_fraction.Select(f => $"`{f}`"))), (f, a) => $"{f}({a})")),
                (1, Gen.Select(x, Gen.Frequency((2, x.Select(b => $"to_string({b})")), (1, text), (1, NumberLiteral)), (a, b) => $"contains({a}, {b})")),
                (1, Gen.Select(Gen.OneOf("starts_with", "ends_with"), text, text, (f, a, b) => $"{f}({a}, {b})")),
                (1, Gen.Select(text, x, (s, a) => $"join({s}, {a})")),
                (1, x.Select(a => $"reverse({a})")),
                (1, Gen.Frequency((3, x), (1, s_fraction.Select(f => $"`{f}`"))).Select(a => $"to_string({a})")),
                (1, text.Select(a => $"to_number({a})")),
                (1, x.Select(a => $"to_array({a})")),
                (1, x.Select(a => $"type({a})")),
                (1, x.Array[1, 3].Select(a => $"not_null({string.Join(", ", a)})")),
                (1, x.Array[1, 3].Select(a => $"merge({string.Join(", ", a)})")),
                (1, Gen.Select(x, x, (f, a) => $"map(&(@ | {f}), {a})")));
            return call.Select(c => new Expr(c, Primary));
        }
    }
}
