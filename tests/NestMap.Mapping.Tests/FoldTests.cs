using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Tests;

/// <summary>
/// Fast paths must be invisible. sum, avg, length and join over a projection fold its values as they come instead of
/// building the array; contains(array, 'literal') compares in place; a multi-select looks up the leading fields its
/// values share once. Every case here is compiled with its fast paths
/// and without them (the general path), evaluated under every step and result budget from 1 up to enough, and the
/// outcomes (value, or error kind, code, detail and position) must be equal.
/// </summary>
public sealed class FoldTests
{
    private const string Document = """
        {"items": [
          {"sku": "A-1", "price": 2.5, "qty": 1, "tags": ["x"]},
          {"sku": null, "price": 4, "qty": 2},
          {"sku": "C-3", "qty": 3, "tags": ["x", "y"]},
          [{"sku": "D-4", "price": 1}, {"price": 0.25}],
          {"sku": "E-5", "price": "7", "qty": 4}
        ],
        "empty": [], "text": "abc", "nums": [1, 2, 3], "nested": [[1, 2], [3], 4],
        "escaped": ["x\u0079", "\u00e9t\u00e9"], "broken": ["\ud800"], "mixed": [null, 1, "y", ["y"], {"y": 1}]}
        """;

    public static TheoryData<string> Cases => new()
    {
        "sum(items[].price)",
        "sum(items[*].qty)",
        "sum(items[?qty > `1`].qty)",
        "avg(items[*].qty)",
        "avg(empty[*].qty)",
        "length(items[].sku)",
        "length(items[?tags])",
        "length(nested[])",
        "sum(nested[])",
        "join(', ', items[].sku)",
        "join('', empty[*].sku)",
        "join('-', items[?sku].sku)",
        "sum(nums[*])",
        "join(', ', nums[*])",
        "join(`1`, items[].sku)",
        "sum(text[*])",
        "length(text[*])",
        "avg(items[*].sku)",
        "sum(items[].tags[0])",
        "join(', ', items[].tags[])",
        "join(',', broken[*])",
        "join(',', [broken[0], `1`][*])",
        "join(broken[0], items[].sku)",
        "join(`\"\\ud800\"`, items[].sku)",
        "join(&sku, items[].sku)",
        "sum(&price)",
        "length(&price)",
        "let $g = ' / ' in join($g, items[].sku)",
        "join(', ', items[].join('-', tags[*]))",
        "sum(items[].[length(tags[*])][])",
        "{total: sum(items[].price), skus: join(',', items[].sku), n: length(items[?qty])}",
        "items[].{n: length(tags[*]), t: join('+', tags[*])}",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Folded_AndGeneral_AgreeUnderEveryBudget(string expression) => AssertSameAsGeneralPath(expression, 120);

    [Theory]
    [InlineData("sum(items[].price)")]
    [InlineData("avg(items[*].qty)")]
    [InlineData("length(items[?qty > `1`])")]
    public void Fold_BuildsNoArray(string expression)
    {
        // The general path allocates the projection's array on every evaluation; the fold allocates nothing.
        JsonElement input = JsonDocument.Parse("""{"items": [{"price": 1, "qty": 1}, {"price": 2, "qty": 2}, {"price": 3, "qty": 3}]}""").RootElement;
        Assert.Equal(0, Allocations.OfEvaluateValue(JmesPath.Compile(expression), input));
    }

    public static TheoryData<string> ContainsCases => new()
    {
        "items[?contains(tags, 'x')].sku",
        "items[?contains(tags, 'y')].sku",
        "length(items[?contains(tags, 'nope')])",
        "contains(text, 'b')",
        "contains(nums, 'x')",
        "contains(mixed, 'y')",
        "contains(escaped, 'xy')",
        "contains(escaped, 'été')",
        "contains(broken, 'x')",
        "contains(nothing, 'x')",
        "contains(nums[*], '1')",
        "contains(`[\"a\"]`, 'a')",
    };

    [Theory]
    [MemberData(nameof(ContainsCases))]
    public void ContainsOfALiteral_AndGeneral_AgreeUnderEveryBudget(string expression) => AssertSameAsGeneralPath(expression, 60);

    public static TheoryData<string> SharedPathCases => new()
    {
        "{a: items[0].sku, b: items[1].price, c: length(items), d: items[?qty > `1`].sku, e: sum(items[].price), f: items}",
        "[items[0].sku, items[0].price, nums[0], nums[1], nums]",
        "{x: missing.a, y: missing.b, z: text.a, w: text.b, v: nums.a, u: nums.b}",
        "items[?sku].{s: sku, t: tags[0], u: tags[1], v: tags}",
        "{a: {b: items[0].sku, c: items[0].qty}, d: items[0].price, e: [items[1].sku, items[1].qty]}",
        "{a: items[].{p: nested[0], q: nested[1]}, b: nested[0], c: nested[1]}",
        "{a: nums[0] || nums[1], b: nums[2] && text, c: nums[0] > nums[1], d: !nums, e: nums[0] ? nums[1] : nums[2], f: -nums[0]}",
        "{a: sort_by(items[?price], &price)[0].sku, b: max_by(items[?price], &price).sku, c: items[?price] | [0].sku}",
        "let $x = items in {a: $x[0].sku, b: items[0].sku, c: items[1].sku}",
        "{a: items | [0], b: items | [1], c: items[*].sku, d: items[*].price}",
        "{a: items[0].tags[0], b: items[0].tags[1], c: items[2].tags[1], d: items[0].price + items[1].price}",
        "{a: mixed[4].y, b: mixed[4].z, c: mixed[3][0], d: mixed[0].y}",
        "{a: join(', ', items[].sku), b: join('-', items[?sku].sku), c: length(items[?tags])}",
        "{a: items[0].sku, a: items[1].sku, b: items[2].sku}",
        "items[*].[sku, price, tags[0], tags[1]]",
        "{a: broken[0], b: broken[1], c: escaped[0], d: escaped[1]}",
    };

    [Theory]
    [MemberData(nameof(SharedPathCases))]
    public void SharedPaths_AndGeneral_AgreeUnderEveryBudget(string expression) => AssertSameAsGeneralPath(expression, 120);

    public static TheoryData<string> FieldWriterCases => new()
    {
        "items[*].{s: sku, p: price, q: qty, t: tags}",
        "items[].{s: \"sku\", n: nothing}",
        "mixed[*].{y: y}",
        "mixed[].y",
        "items[*].sku",
        "items[].price",
        "items[?qty > `1`].{s: sku, q: qty}",
        "items[?qty > `1`].sku",
        "{a: text, b: nums, c: missing, d: empty}",
        "{a: text, b: text, c: nums[0]}",
        "[text, nums, missing]",
        "[{a: `1`}, {a: null}, {b: `2`}][*].{x: a}",
        "[{a: `1`}, {a: null}][*].a",
        "nested[].{v: @, w: x}",
        "items[0].{s: sku, t: tags}.{u: t, v: s}",
    };

    [Theory]
    [MemberData(nameof(FieldWriterCases))]
    public void FieldWriters_AndGeneral_AgreeUnderEveryBudget(string expression) => AssertSameAsGeneralPath(expression, 80);

    [Theory]
    [InlineData("x.{a: y, b: z}")]
    [InlineData("[x][*].z")]
    [InlineData("[x][*].{a: y}")]
    [InlineData("x.z")]
    [InlineData("x.y")]
    [InlineData("{a: c && x.z.p, b: c && x.z.q}")]
    [InlineData("{a: abs(s), b: x.z.p, c: x.z.q}")]
    [InlineData("{a: x.y, b: x.z, c: x.y}")]
    [InlineData("[c || x.z, c || x.y, c ? x.z : x.y]")]
    [InlineData("x[?@].z")]
    public void UnreadableMemberNames_AreCodedErrors_RaisedWhereTheGeneralPathRaisesThem(string expression)
    {
        // A member name with a lone surrogate escape cannot be compared with a name being looked up: System.Text.Json
        // throws. That is an invalid-value error, never an uncoded exception; and a lookup that a multi-select shares
        // must not raise it where the expression never looks (a branch not taken) or before another value's error.
        const string document = """{"c": false, "s": "t", "x": {"\ud800": 0, "y": 1}}""";
        AssertSameAsGeneralPath(expression, 40, document);
        string outcome = Outcome(expression, null, JsonDocument.Parse(document).RootElement);
        Assert.DoesNotContain("InvalidOperation", outcome, StringComparison.Ordinal);
    }

    [Fact]
    public void UnreadableMemberName_OnTheWay_IsAnInvalidValueError()
    {
        JsonElement input = JsonDocument.Parse("""{"x": {"\ud800": 0, "y": 1}}""").RootElement;
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("x.z").Evaluate(input));
        Assert.Equal(ExpressionErrorKind.InvalidValue, e.Kind);
        Assert.Equal(1, JmesPath.Compile("x.y").Evaluate(input)!.GetValue<int>()); // found before the unreadable name
        Assert.Equal("""{"a":false,"b":false}""", JmesPath.Compile("{a: `false` && x.z.p, b: `false` && x.z.q}").Evaluate(input)!.ToJsonString());
    }

    [Fact]
    public void SharedPaths_KeepFieldNamesApart_WhateverTheyHold()
    {
        // Chains are keyed by their names; names with separators in them must not run together.
        JsonElement input = JsonDocument.Parse("""{"a:b": {"c": 1, "d": 3}, "a": {"b:c": 2, "b": {"c": 4}}, "1": {":a": 5}, "1:": {"a": 6}}""").RootElement;
        JsonNode? result = JmesPath.Compile("""{w: "a:b".c, x: a."b:c", y: "a:b".d, z: a.b.c, v: "1".":a", u: "1:".a, t: a."b:c", s: "1:".a}""").Evaluate(input);
        Assert.Equal("""{"w":1,"x":2,"y":3,"z":4,"v":5,"u":6,"t":2,"s":6}""", result!.ToJsonString());
    }

    [Fact]
    public void Join_PastTheStringLimit_FailsAsTheGeneralPathDoes()
    {
        JsonElement input = JsonDocument.Parse("""{"a": [{"s": "abcdef"}, {"s": "ghijkl"}, {"s": "mnopqr"}]}""").RootElement;
        var policy = new ExpressionPolicy { MaxStringLength = 10 };
        string folded = Outcome("join('+', a[].s)", policy, input);
        Assert.StartsWith("limit", folded, StringComparison.Ordinal);
        Assert.Equal(Outcome("join('+', a[].s)", policy, input, generalPathsOnly: true), folded);
    }

    [Theory]
    [InlineData(61, false)]
    [InlineData(450, true)]
    public void NestedFolds_OnASmallStack_FailAsTheGeneralPathDoes(int depth, bool raisedLimits)
    {
        // Review regression: folds called node evaluators without their stack checks, so folds nested deep enough
        // returned a value where the general path reported a limit error, or overflowed the stack (a crash).
        // Compiled on the test's thread, evaluated on a thread with a 128 KiB stack.
        string expression = string.Concat(Enumerable.Repeat("sum(a[].", depth)) + "b" + new string(')', depth);
        string json = string.Concat(Enumerable.Repeat("{\"a\": [", depth)) + "{\"b\": 1}" + string.Concat(Enumerable.Repeat("]}", depth));
        using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 2 * depth + 10 });
        ExpressionPolicy policy = raisedLimits
            ? new ExpressionPolicy { MaxPathDepth = 1000, MaxNestingDepth = 1000, MaxNodes = 100_000, MaxExpressionLength = 100_000 }
            : new ExpressionPolicy { MaxPathDepth = 1000 };
        CompiledExpression generalPath = Compile(expression, policy, generalPathsOnly: true), fastPaths = Compile(expression, policy, generalPathsOnly: false);
        string general = "", fast = "";
        Assert.Null(StackThread.Run(128 * 1024, () =>
        {
            general = Outcome(generalPath, document.RootElement);
            fast = Outcome(fastPaths, document.RootElement);
        }));
        if (raisedLimits)
        {
            // Deep enough that no JIT tier's frames fit in the thread's stack: both must report the limit.
            Assert.StartsWith("limit", general, StringComparison.Ordinal);
            Assert.Equal(general, fast);
        }
        else
        {
            // A smoke test: near the default nesting bound, whether the stack suffices depends on the machine (CI's
            // usable stack differed from this one's) and the two paths' frames differ, so each evaluation must give the
            // right value or a limit error, never a crash or a wrong value. The raised-limit case is the one that checks
            // both paths fail alike.
            foreach (string outcome in new[] { general, fast })
            {
                foreach (string part in outcome.Split(" | streamed: "))
                {
                    Assert.True(part == "1" || part.StartsWith("limit ", StringComparison.Ordinal), outcome);
                }
            }
        }
    }

    [Theory]
    [InlineData("join(', ', a[].s)")]
    [InlineData("join(`\"\\u00e9-\"`, a[].s)")]
    [InlineData("join(g, a[].s)")]
    public void Join_AppendsEveryKindOfStringAsTheGeneralPathReadsIt(string expression)
    {
        // Input strings are appended from their UTF-8 text when they have no escapes and are short; escaped, long,
        // multi-byte and built strings take the reading path. Both must give the general path's text.
        string longText = new('x', 300);
        string document = "{\"g\": \"\u00fc\", \"a\": [{\"s\": \"plain\"}, {\"s\": \"\u00e9t\u00e9 \u65e5\u672c \ud83d\ude00\"}, {\"s\": \"esc\\\"aped\\\\ \\u0041\"},"
            + " {\"s\": \"" + longText + "\"}, {\"s\": \"\"}, {\"s\": \"tab\\there\"}]}";
        AssertSameAsGeneralPath(expression, 40, document);
        string joined = JmesPath.Compile(expression).Evaluate(JsonDocument.Parse(document).RootElement)!.GetValue<string>();
        Assert.Contains("\u00e9t\u00e9 \u65e5\u672c \ud83d\ude00", joined, StringComparison.Ordinal);
        Assert.Contains("esc\"aped\\ A", joined, StringComparison.Ordinal);
        Assert.Contains(longText, joined, StringComparison.Ordinal);
    }

    [Fact]
    public void Join_OfALoneSurrogate_FailsAsTheGeneralPathDoes()
    {
        JsonElement input = JsonDocument.Parse("""{"a": [{"s": "ok"}, {"s": "bad \ud800 here"}]}""").RootElement;
        string folded = Outcome("join(', ', a[].s)", null, input);
        Assert.StartsWith("invalid-value", folded, StringComparison.Ordinal);
        Assert.Equal(Outcome("join(', ', a[].s)", null, input, generalPathsOnly: true), folded);
    }

    [Fact]
    public void Join_OfInvalidUtf8_FailsAsTheGeneralPathDoes()
    {
        // The reader takes a string with a byte sequence that is not UTF-8 (0xC3 0x28) and only reading it fails: the
        // fold's transcoding must refuse it too, so that the general path reports it.
        byte[] json = [.. "{\"a\": [{\"s\": \"ok\"}, {\"s\": \"x"u8, 0xC3, 0x28, .. "y\"}]}"u8];
        JsonElement input = JsonDocument.Parse(json).RootElement;
        Assert.Throws<InvalidOperationException>(() => input.GetProperty("a")[1].GetProperty("s").GetString());
        string folded = Outcome("join(', ', a[].s)", null, input);
        Assert.StartsWith("invalid-value", folded, StringComparison.Ordinal);
        Assert.Equal(Outcome("join(', ', a[].s)", null, input, generalPathsOnly: true), folded);
    }

    [Fact]
    public void Join_InsideAJoinsProjection_KeepsBothTextsApart()
    {
        JsonElement input = JsonDocument.Parse("""{"rows": [{"c": ["a", "b"]}, {"c": ["c"]}, {"c": []}]}""").RootElement;
        JsonNode? result = JmesPath.Compile("join(' | ', rows[].join(',', c[*]))").Evaluate(input);
        Assert.Equal("a,b | c | ", result!.GetValue<string>());
    }

    /// <summary>
    /// Evaluates <paramref name="expression"/> compiled with its fast paths and compiled without them, under every step
    /// and result budget from 1 to <paramref name="enough"/> and under the default policy: the outcomes must be equal.
    /// </summary>
    private static void AssertSameAsGeneralPath(string expression, long enough, string document = Document)
    {
        JsonElement input = JsonDocument.Parse(document).RootElement;
        var policies = new List<ExpressionPolicy?> { null };
        for (long budget = 1; budget <= enough; budget++)
        {
            policies.Add(new ExpressionPolicy { MaxSteps = budget });
            policies.Add(new ExpressionPolicy { MaxResultSize = budget });
        }

        for (int length = 1; length <= 40; length++)
        {
            policies.Add(new ExpressionPolicy { MaxStringLength = length });
        }

        foreach (ExpressionPolicy? policy in policies)
        {
            Assert.Equal(Outcome(expression, policy, input, generalPathsOnly: true), Outcome(expression, policy, input));
        }
    }

    /// <summary>The value, or the error with its kind, code, detail and position.</summary>
    private static string Outcome(string expression, ExpressionPolicy? policy, JsonElement input, bool generalPathsOnly = false) =>
        Outcome(Compile(expression, policy, generalPathsOnly), input);

    private static CompiledExpression Compile(string expression, ExpressionPolicy? policy, bool generalPathsOnly)
    {
        Compiler.GeneralPathsOnly = generalPathsOnly;
        try
        {
            return JmesPath.Compile(expression, policy);
        }
        finally
        {
            Compiler.GeneralPathsOnly = false;
        }
    }

    private static string Outcome(CompiledExpression compiled, JsonElement input)
    {
        string evaluated, streamed;
        try
        {
            JsonNode? value = compiled.Evaluate(input, out bool missing);
            evaluated = missing ? "missing" : value?.ToJsonString() ?? "null";
        }
        catch (ExpressionException e)
        {
            evaluated = $"{e.ErrorType} {e.Code}: {e.Detail} @{e.Offset}";
        }

        // And through the streaming writer, which calls the same evaluators from its own loops.
        try
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                compiled.EvaluateTo(input, writer);
            }

            streamed = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (ExpressionException e)
        {
            streamed = $"{e.ErrorType} {e.Code}: {e.Detail} @{e.Offset}";
        }

        return evaluated + " | streamed: " + streamed;
    }
}
