using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Tests;

/// <summary>
/// Fast paths must be invisible. sum, avg, length and join over a projection fold its values as they come instead of
/// building the array; contains(array, 'literal') compares in place. Every case here is compiled with its fast paths
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

    [Fact]
    public void Join_PastTheStringLimit_FailsAsTheGeneralPathDoes()
    {
        JsonElement input = JsonDocument.Parse("""{"a": [{"s": "abcdef"}, {"s": "ghijkl"}, {"s": "mnopqr"}]}""").RootElement;
        var policy = new ExpressionPolicy { MaxStringLength = 10 };
        string folded = Outcome("join('+', a[].s)", policy, input);
        Assert.StartsWith("limit", folded, StringComparison.Ordinal);
        Assert.Equal(Outcome("join('+', a[].s)", policy, input, generalPathsOnly: true), folded);
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
    private static void AssertSameAsGeneralPath(string expression, long enough)
    {
        JsonElement input = JsonDocument.Parse(Document).RootElement;
        for (long budget = 1; budget <= enough; budget++)
        {
            var policy = new ExpressionPolicy { MaxSteps = budget, MaxResultSize = budget };
            Assert.Equal(Outcome(expression, policy, input, generalPathsOnly: true), Outcome(expression, policy, input));
        }

        Assert.Equal(Outcome(expression, null, input, generalPathsOnly: true), Outcome(expression, null, input));
    }

    /// <summary>The value, or the error with its kind, code, detail and position.</summary>
    private static string Outcome(string expression, ExpressionPolicy? policy, JsonElement input, bool generalPathsOnly = false)
    {
        Compiler.GeneralPathsOnly = generalPathsOnly;
        CompiledExpression compiled;
        try
        {
            compiled = JmesPath.Compile(expression, policy);
        }
        finally
        {
            Compiler.GeneralPathsOnly = false;
        }

        try
        {
            JsonNode? value = compiled.Evaluate(input, out bool missing);
            return missing ? "missing" : value?.ToJsonString() ?? "null";
        }
        catch (ExpressionException e)
        {
            return $"{e.ErrorType} {e.Code}: {e.Detail} @{e.Offset}";
        }
    }
}
