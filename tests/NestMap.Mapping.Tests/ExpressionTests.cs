using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Tests;

/// <summary>The engine's own contract beyond the compliance suite: missing versus null, results, extensions, threads.</summary>
public sealed class ExpressionTests
{
    internal const string Order = """
        {
          "order": {
            "id": "A-17",
            "customer": { "name": "Ada", "email": null },
            "items": [
              { "sku": "X1", "quantity": 2, "price": 10.5 },
              { "sku": "Y2", "quantity": 1, "price": 4 }
            ],
            "note": "",
            "shipping_type": null
          }
        }
        """;

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Theory]
    [InlineData("order.customer.email", false)]
    [InlineData("order.customer.phone", true)]
    [InlineData("order.customer.email.domain", true)]
    [InlineData("order.items[5]", true)]
    [InlineData("order.items[0].sku", false)]
    [InlineData("order.nothing[*].sku", true)]
    [InlineData("`null`", false)]
    [InlineData("not_null(order.nothing)", false)]
    [InlineData("order.nothing || order.missing", true)]
    [InlineData("order.shipping_type", false)]
    public void Evaluate_ReportsMissingApartFromNull(string expression, bool missing)
    {
        JsonNode? node = JmesPath.Compile(expression).Evaluate(Parse(Order), out bool wasMissing);

        Assert.Equal(missing, wasMissing);
        if (missing)
        {
            Assert.Null(node);
        }
    }

    [Theory]
    [InlineData("order.shipping_type ?? 'STANDARD'", "null")]
    [InlineData("order.shipping_method ?? 'STANDARD'", "\"STANDARD\"")]
    [InlineData("order.shipping_type || 'STANDARD'", "\"STANDARD\"")]
    [InlineData("order.note ?? 'none'", "\"\"")]
    [InlineData("order.note || 'none'", "\"none\"")]
    [InlineData("order.a ?? order.b ?? order.id", "\"A-17\"")]
    public void Coalesce_FallsBackOnlyWhenMissing(string expression, string expected)
    {
        Assert.Equal(expected, JmesPath.Compile(expression).EvaluateValue(Parse(Order)).ToString());
    }

    [Fact]
    public void Evaluate_ReturnsANodeDetachedFromTheInput()
    {
        JsonNode? node;
        using (var document = JsonDocument.Parse(Order))
        {
            node = JmesPath.Compile("order.items[0]").Evaluate(document.RootElement);
        }

        Assert.Equal("X1", node!["sku"]!.GetValue<string>());
        Assert.Equal(10.5, node["price"]!.GetValue<double>());
    }

    [Fact]
    public void EvaluateValue_SelectsExistingElementsWithoutCopying()
    {
        JsonElement input = Parse(Order);

        ExpressionValue value = JmesPath.Compile("order.customer").EvaluateValue(input);

        Assert.True(value.TryGetElement(out JsonElement element));
        Assert.Equal(input.GetProperty("order").GetProperty("customer").GetRawText(), element.GetRawText());
        Assert.False(JmesPath.Compile("order.items[].sku").EvaluateValue(input).TryGetElement(out _));
    }

    [Theory]
    [InlineData("order.customer.name")]
    [InlineData("order.items[1].price")]
    [InlineData("order.nothing.at.all")]
    [InlineData("order.customer.name || 'x'")]
    [InlineData("order.items[0].quantity > `1`")]
    public void EvaluateValue_OfAPathAllocatesNothing(string expression)
    {
        Assert.Equal(0, Allocations.OfEvaluateValue(JmesPath.Compile(expression), Parse(Order)));
    }

    [Fact]
    public void CompiledExpression_CanBeSharedBetweenThreads()
    {
        CompiledExpression compiled = JmesPath.Compile("let $n = length(order.items) in order.items[?quantity >= `1`].{sku: sku, n: $n} | sort_by(@, &sku)");
        JsonElement input = Parse(Order);
        string expected = compiled.EvaluateValue(input).ToString();
        using var barrier = new Barrier(4);

        string[] results = new string[4];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            barrier.SignalAndWait();
            string last = string.Empty;
            for (int i = 0; i < 2000; i++)
            {
                last = compiled.EvaluateValue(input).ToString();
                Assert.Equal(expected, last);
            }

            results[t] = last;
        });

        Assert.All(results, r => Assert.Equal(expected, r));
        Assert.Equal("""[{"sku":"X1","n":2},{"sku":"Y2","n":2}]""", expected);
    }

    [Fact]
    public void WriteTo_WritesTheValueAsJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JmesPath.Compile("{total: sum(order.items[].price), skus: order.items[].sku}").EvaluateValue(Parse(Order)).WriteTo(writer);
        }

        Assert.Equal("""{"total":14.5,"skus":["X1","Y2"]}""", System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void FieldNames_FromOtherRuntimes_ArePlainFields()
    {
        JsonElement input = Parse("""{"__proto__": {"polluted": 1}, "constructor": "c", "GetType": "g", "toString": 5}""");

        Assert.Equal("""[1,"c","g",5]""", JmesPath.Compile("[__proto__.polluted, constructor, GetType, toString]").EvaluateValue(input).ToString());
        Assert.True(JmesPath.Compile("length.GetType").EvaluateValue(input).IsMissing);
    }

    [Theory]
    [InlineData("Hello {{ order.customer.name }}!", "Hello Ada!", 0)]
    [InlineData("{{order.id}}/{{ order.items[0].quantity }}/{{ order.items[].sku }}", "A-17/2/[\"X1\",\"Y2\"]", 0)]
    [InlineData("[{{ order.customer.email }}][{{ order.customer.phone }}]", "[][]", 1)]
    [InlineData("literal \\{{ braces }}", "literal {{ braces }}", 0)]
    [InlineData("no placeholders", "no placeholders", 0)]
    public void Template_Interpolates(string template, string expected, int missing)
    {
        CompiledTemplate compiled = JmesPath.CompileTemplate(template);

        Assert.Equal(expected, compiled.Render(Parse(Order), out int wasMissing));
        Assert.Equal(missing, wasMissing);
    }

    [Fact]
    public void Template_ErrorsPointIntoTheTemplate()
    {
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.CompileTemplate("Hi {{ user. }} and {{ x }}"));

        Assert.Equal(ExpressionErrorKind.Syntax, e.Kind);
        Assert.Equal("Hi {{ user. }} and {{ x }}", e.Expression);
        Assert.Equal(12, e.Offset);

        ExpressionException open = Assert.Throws<ExpressionException>(() => JmesPath.CompileTemplate("Hi {{ user"));
        Assert.Equal(3, open.Offset);
    }

    [Fact]
    public void Templates_RespectThePolicy()
    {
        var policy = new ExpressionPolicy { AllowedRoots = ["user"] };

        Assert.Equal("Hi Bo", JmesPath.CompileTemplate("Hi {{ user.name }}", policy).Render(Parse("""{"user": {"name": "Bo"}}""")));
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.CompileTemplate("Hi {{ secret }}", policy));
        Assert.Equal(ExpressionErrorKind.Policy, e.Kind);
        Assert.Equal(6, e.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(40)]
    public void Sorts_AreStableAndAgreeWithASortedModel_OnBothSidesOfTheSmallSortLimit(int count)
    {
        // Arrays of up to 16 items sort on the stack, longer ones in pooled buffers: both must order alike and keep equal
        // keys in their original order.
        var random = new Random(count);
        var items = Enumerable.Range(0, count).Select(i => (Key: random.Next(4), Name: random.Next(3) switch { 0 => "b", 1 => "a", _ => "ab" }, Position: i)).ToList();
        string json = "[" + string.Join(",", items.Select(i => $$"""{"k": {{i.Key}}, "s": "{{i.Name}}", "p": {{i.Position}}}""")) + "]";
        JsonElement input = Parse(json);

        int[] byNumber = [.. items.OrderBy(i => i.Key).Select(i => i.Position)];
        int[] byString = [.. items.OrderBy(i => i.Name, StringComparer.Ordinal).Select(i => i.Position)];
        Assert.Equal(byNumber, Positions(JmesPath.Compile("sort_by(@, &k)[].p").Evaluate(input)));
        Assert.Equal(byString, Positions(JmesPath.Compile("sort_by(@, &s)[].p").Evaluate(input)));
        Assert.Equal(items.Select(i => i.Key).Order().ToArray(), Positions(JmesPath.Compile("sort(@[].k)").Evaluate(input)));
        Assert.Equal(items.Select(i => i.Name).Order(StringComparer.Ordinal).ToArray(), JmesPath.Compile("sort(@[].s)").Evaluate(input)!.AsArray().Select(n => n!.GetValue<string>()).ToArray());

        // A built array (the projection's result) sorts the same way as an element array.
        Assert.Equal(byNumber, Positions(JmesPath.Compile("sort_by(@[*], &k)[].p").Evaluate(input)));

        static int[] Positions(JsonNode? node) => [.. node!.AsArray().Select(n => n!.GetValue<int>())];
    }
}
