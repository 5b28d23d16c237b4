using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Tests;

/// <summary>
/// sum, avg, length and join over a projection fold its values as they come instead of building the array. The fold
/// must be invisible: every case here is evaluated folded and through the general path (the same call with the
/// projection piped through <c>@</c>, which defeats the fold and charges nothing more), under every step and
/// result budget from 1 up to enough, and the outcomes (value, or error kind, message and position) must be equal.
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
        "empty": [], "text": "abc", "nums": [1, 2, 3], "nested": [[1, 2], [3], 4]}
        """;

    public static TheoryData<string, string> Cases => new()
    {
        { "sum(items[].price)", "items[].price" },
        { "sum(items[*].qty)", "items[*].qty" },
        { "sum(items[?qty > `1`].qty)", "items[?qty > `1`].qty" },
        { "avg(items[*].qty)", "items[*].qty" },
        { "avg(empty[*].qty)", "empty[*].qty" },
        { "length(items[].sku)", "items[].sku" },
        { "length(items[?tags])", "items[?tags]" },
        { "length(nested[])", "nested[]" },
        { "sum(nested[])", "nested[]" },
        { "join(', ', items[].sku)", "items[].sku" },
        { "join('', empty[*].sku)", "empty[*].sku" },
        { "join('-', items[?sku].sku)", "items[?sku].sku" },
        { "sum(nums[*])", "nums[*]" },
        { "join(', ', nums[*])", "nums[*]" },
        { "join(`1`, items[].sku)", "items[].sku" },
        { "sum(text[*])", "text[*]" },
        { "length(text[*])", "text[*]" },
        { "avg(items[*].sku)", "items[*].sku" },
        { "sum(items[].tags[0])", "items[].tags[0]" },
        { "join(', ', items[].tags[])", "items[].tags[]" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Folded_AndGeneral_AgreeUnderEveryBudget(string folded, string projection)
    {
        string general = folded.Replace(projection, "(" + projection + " | @)", StringComparison.Ordinal);
        Assert.NotEqual(folded, general);
        int shiftFrom = folded.IndexOf(projection, StringComparison.Ordinal);
        JsonElement input = JsonDocument.Parse(Document).RootElement;

        // Enough for every case; below it, each budget is tried, so a limit error must strike at the same place.
        for (long budget = 1; budget <= 120; budget++)
        {
            var policy = new ExpressionPolicy { MaxSteps = budget, MaxResultSize = budget };
            Assert.Equal(Outcome(general, policy, input, shiftFrom), Outcome(folded, policy, input));
        }

        Assert.Equal(Outcome(general, null, input, shiftFrom), Outcome(folded, null, input));
    }

    [Theory]
    [InlineData("sum(items[].price)")]
    [InlineData("avg(items[*].qty)")]
    [InlineData("length(items[?qty > `1`])")]
    public void Fold_BuildsNoArray(string expression)
    {
        // The general path allocates the projection's array on every evaluation; the fold allocates nothing.
        JsonElement input = JsonDocument.Parse("""{"items": [{"price": 1, "qty": 1}, {"price": 2, "qty": 2}, {"price": 3, "qty": 3}]}""").RootElement;
        CompiledExpression compiled = JmesPath.Compile(expression);
        compiled.EvaluateValue(input);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            compiled.EvaluateValue(input);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Join_PastTheStringLimit_FailsAsTheGeneralPathDoes()
    {
        JsonElement input = JsonDocument.Parse("""{"a": [{"s": "abcdef"}, {"s": "ghijkl"}, {"s": "mnopqr"}]}""").RootElement;
        var policy = new ExpressionPolicy { MaxStringLength = 10 };
        string folded = Outcome("join('+', a[].s)", policy, input);
        Assert.StartsWith("limit", folded, StringComparison.Ordinal);
        Assert.Equal(Outcome("join('+', (a[].s | @))", policy, input, shiftFrom: 9), folded);
    }

    [Fact]
    public void Join_InsideAJoinsProjection_KeepsBothTextsApart()
    {
        JsonElement input = JsonDocument.Parse("""{"rows": [{"c": ["a", "b"]}, {"c": ["c"]}, {"c": []}]}""").RootElement;
        JsonNode? result = JmesPath.Compile("join(' | ', rows[].join(',', c[*]))").Evaluate(input);
        Assert.Equal("a,b | c | ", result!.GetValue<string>());
    }

    /// <summary>The value, or the error; in the general form the projection sits one character later (after "(").</summary>
    private static string Outcome(string expression, ExpressionPolicy? policy, JsonElement input, int shiftFrom = int.MaxValue)
    {
        try
        {
            JsonNode? value = JmesPath.Compile(expression, policy).Evaluate(input, out bool missing);
            return missing ? "missing" : value?.ToJsonString() ?? "null";
        }
        catch (ExpressionException e)
        {
            int offset = e.Offset > shiftFrom ? e.Offset - 1 : e.Offset;
            return $"{e.ErrorType} {e.Code}: {e.Detail} @{offset}";
        }
    }
}
