using System.Buffers;
using System.Text.Json;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Tests;

/// <summary>
/// <see cref="JmesPath.CompileSet"/>: expressions evaluated together against one input, sharing their leading lookups.
/// Every member must give what the same expression compiled alone gives: value, missing, steps, errors.
/// </summary>
public sealed class ExpressionSetTests
{
    private const string Order = ExpressionTests.Order;

    private static readonly string[] s_mapping =
    [
        "order.id",
        "order.customer.name",
        "order.customer.email",
        "order.customer.phone",
        "order.items[0].sku",
        "sum(order.items[].price)",
        "length(order.items)",
        "order.items[?quantity > `1`].sku | [0]",
        "{n: order.customer.name, c: order.shipping_type}",
        "let $t = order.note in order.items[].[sku, $t]",
        "let $u = order.customer in $u.name",
        "$.order.id",
        "order.nothing.at.all || 'none'",
        "order.shipping_type",
    ];

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Members_GiveWhatEachExpressionGivesAlone()
    {
        JsonElement input = Parse(Order);
        CompiledExpressionSet set = JmesPath.CompileSet(s_mapping);
        Assert.True(set.SharedLookups >= 3, $"only {set.SharedLookups} shared lookups planned"); // order, order.customer, order.items
        Assert.Equal(s_mapping.Length, set.Count);
        Assert.Equal(s_mapping, set.Expressions);

        ExpressionSetEvaluation evaluation = set.Evaluate(input);
        for (int i = 0; i < s_mapping.Length; i++)
        {
            CompiledExpression alone = JmesPath.Compile(s_mapping[i]);
            ExpressionValue expected = alone.EvaluateValue(input);
            ExpressionValue actual = evaluation.EvaluateValue(i);
            Assert.Equal(expected.ToString(), actual.ToString());
            Assert.Equal(expected.IsMissing, actual.IsMissing);
            Assert.Equal(expected.Steps, actual.Steps);
            Assert.Equal(Written(w => alone.EvaluateTo(input, w)), Written(w => set.Evaluate(input).EvaluateTo(i, w)));
        }
    }

    [Fact]
    public void Members_CanBeEvaluatedInAnyOrder_AndAgain()
    {
        JsonElement input = Parse(Order);
        CompiledExpressionSet set = JmesPath.CompileSet(s_mapping);
        ExpressionSetEvaluation evaluation = set.Evaluate(input);
        int[] order = [9, 10, 0, 9, 5, 10, 1];
        foreach (int i in order)
        {
            Assert.Equal(JmesPath.Compile(s_mapping[i]).EvaluateValue(input).ToString(), evaluation.EvaluateValue(i).ToString());
        }
    }

    [Fact]
    public void OneEvaluationPerInput_KeepsInputsApart()
    {
        CompiledExpressionSet set = JmesPath.CompileSet(["order.id", "order.total"]);
        JsonElement first = Parse("""{"order": {"id": 1, "total": 2}}""");
        JsonElement second = Parse("""{"order": {"id": 3}}""");
        ExpressionSetEvaluation a = set.Evaluate(first);
        ExpressionSetEvaluation b = set.Evaluate(second);
        Assert.Equal("1", a.EvaluateValue(0).ToString());
        Assert.Equal("3", b.EvaluateValue(0).ToString());
        Assert.True(b.EvaluateValue(1).IsMissing);
        Assert.Equal("2", a.EvaluateValue(1).ToString());
    }

    [Fact]
    public void AFailingMember_FailsAlone_WithTheErrorItGivesAlone()
    {
        JsonElement input = Parse("""{"a": {"b": "text", "c": 2}}""");
        string[] expressions = ["a.c", "abs(a.b)", "a.c + `1`", "a.b"];
        ExpressionSetEvaluation evaluation = JmesPath.CompileSet(expressions).Evaluate(input);
        ExpressionException expected = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expressions[1]).EvaluateValue(input));
        ExpressionException actual = Assert.Throws<ExpressionException>(() => JmesPath.CompileSet(expressions).Evaluate(input).EvaluateValue(1));
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal("2", evaluation.EvaluateValue(0).ToString());
        Assert.Equal("3", evaluation.EvaluateValue(2).ToString());
        Assert.Equal("\"text\"", evaluation.EvaluateValue(3).ToString());
    }

    [Fact]
    public void EachMember_HasItsOwnStepBudget()
    {
        // Under a budget that one expression fits and two would not, every member still fits: budgets are per member.
        JsonElement input = Parse("""{"a": [1, 2, 3, 4, 5, 6, 7, 8]}""");
        const string Expression = "a[].to_string(@)";
        long steps = JmesPath.Compile(Expression).EvaluateValue(input).Steps;
        var policy = new ExpressionPolicy { MaxSteps = steps + (steps / 2) };
        ExpressionSetEvaluation evaluation = JmesPath.CompileSet([Expression, Expression, Expression], policy).Evaluate(input);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(steps, evaluation.EvaluateValue(i).Steps);
        }

        var tight = new ExpressionPolicy { MaxSteps = steps - 1 };
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.CompileSet(["a[0]", Expression], tight).Evaluate(input).EvaluateValue(1));
        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal("1", JmesPath.CompileSet(["a[0]", Expression], tight).Evaluate(input).EvaluateValue(0).ToString());
    }

    [Fact]
    public void AnUnreadableMemberName_FailsOnlyTheMembersThatMeetIt()
    {
        // x is looked up once for all members; x.z must scan past a name System.Text.Json cannot compare, x.y is found
        // before it. Looked up early, the failure must surface only in the members that reach it, as they do alone.
        JsonElement input = Parse("""{"c": false, "x": {"\ud800": 0, "y": 1}}""");
        string[] expressions = ["x.y", "x.z", "c && x.z.p", "x.z.q", "x.y"];
        ExpressionSetEvaluation evaluation = JmesPath.CompileSet(expressions).Evaluate(input);
        Assert.Equal("1", evaluation.EvaluateValue(0).ToString());
        Assert.Equal("false", evaluation.EvaluateValue(2).ToString());
        Assert.Equal("1", evaluation.EvaluateValue(4).ToString());
        foreach (int failing in (int[])[1, 3])
        {
            ExpressionException alone = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expressions[failing]).EvaluateValue(input));
            ExpressionException inSet = Assert.Throws<ExpressionException>(() => JmesPath.CompileSet(expressions).Evaluate(input).EvaluateValue(failing));
            Assert.Equal(ExpressionErrorKind.InvalidValue, inSet.Kind);
            Assert.Equal(alone.Message, inSet.Message);
        }
    }

    [Fact]
    public void CompileSet_ReportsTheFirstInvalidExpression_AsCompileWould()
    {
        string[] expressions = ["a.b", "a.[", "nope(a)"];
        ExpressionException expected = Assert.Throws<ExpressionException>(() => JmesPath.Compile("a.["));
        ExpressionException actual = Assert.Throws<ExpressionException>(() => JmesPath.CompileSet(expressions));
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal("a.[", actual.Expression);

        ExpressionException policy = Assert.Throws<ExpressionException>(
            () => JmesPath.CompileSet(["a", "b.c"], new ExpressionPolicy { AllowedRoots = ["a"] }));
        Assert.Equal(ExpressionErrorKind.Policy, policy.Kind);
        Assert.Equal("b.c", policy.Expression);
    }

    [Fact]
    public void CompileSet_OnASmallStack_ReportsTheMemberThatIsTooDeep_OrCompilesEachAlone()
    {
        // Compiled together, members share one compilation; when the thread runs out of stack, the set must not blame
        // the wrong member (a review found the first member named whatever was too deep): it compiles each member alone,
        // and the error is that of the first member that fails alone. On a 256 KiB stack, `a` compiles and 999 nested
        // lists cannot; the outcome must be the deep member's limit error, exactly as compiling it alone there gives.
        var policy = new ExpressionPolicy { MaxNestingDepth = ExpressionPolicy.NestingDepthCeiling, MaxPathDepth = int.MaxValue };
        string deep = new string('[', 999) + "a" + new string(']', 999);
        string shallow = "[[a]]";
        string? setOutcome = null, deepAlone = null, shallowAlone = null, shallowInSet = null;
        Assert.Null(StackThread.Run(256 * 1024, () =>
        {
            shallowAlone = CompileOutcome(() => JmesPath.Compile("a", policy));
            deepAlone = CompileOutcome(() => JmesPath.Compile(deep, policy));
            setOutcome = CompileOutcome(() => JmesPath.CompileSet(["a", deep], policy));
            shallowInSet = CompileOutcome(() => JmesPath.CompileSet(["a", shallow, "a.b"], policy));
        }));

        // The contract, on any machine: the set's outcome is that of its first member that fails alone on this stack.
        Assert.Equal(shallowAlone != "compiled" ? shallowAlone : deepAlone, setOutcome);
        Assert.Equal(shallowAlone, shallowInSet);

        // What makes the case worth running, on this machine's stack frames (a 256 KiB thread is far from both bounds).
        Assert.Equal("compiled", shallowAlone);
        Assert.StartsWith("error limit", deepAlone, StringComparison.Ordinal);
    }

    private static string CompileOutcome(Func<object> compile)
    {
        try
        {
            compile();
            return "compiled";
        }
        catch (ExpressionException e)
        {
            return $"error {e.ErrorType} in {e.Expression}: {e.Message}";
        }
    }

    [Fact]
    public void MembersCompiledAlone_AsOnAStackTooSmallToCompileThemTogether_GiveWhatEachGivesAlone()
    {
        // The fallback of CompileSet: no shared lookups, and the members' variables take turns in the set's slots.
        JsonElement input = Parse(Order);
        CompiledExpressionSet set = JmesPath.CompileMembersAlone(s_mapping, ExpressionPolicy.Default);
        Assert.Equal(0, set.SharedLookups);
        ExpressionSetEvaluation evaluation = set.Evaluate(input);
        foreach (int i in Enumerable.Range(0, s_mapping.Length).Concat(Enumerable.Range(0, s_mapping.Length).Reverse()))
        {
            CompiledExpression alone = JmesPath.Compile(s_mapping[i]);
            Assert.Equal(ConformanceTests.Outcome(alone, input), ConformanceTests.Outcome(evaluation, i));
            Assert.Equal(ConformanceTests.StreamedOutcome(alone, input), ConformanceTests.StreamedOutcome(evaluation, i));
        }
    }

    [Fact]
    public void CompileSet_RejectsNulls_AndTakesAnEmptySet()
    {
        Assert.Throws<ArgumentNullException>(() => JmesPath.CompileSet(null!));
        ArgumentException e = Assert.Throws<ArgumentException>(() => JmesPath.CompileSet(["a", null!]));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
        CompiledExpressionSet empty = JmesPath.CompileSet([]);
        Assert.Equal(0, empty.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => empty.Evaluate(Parse("{}")).EvaluateValue(0));
    }

    [Fact]
    public void Evaluation_ChecksItsArguments()
    {
        CompiledExpressionSet set = JmesPath.CompileSet(["a", "a.b"]);
        JsonElement input = Parse("""{"a": {"b": 1}}""");
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Evaluate(input).EvaluateValue(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Evaluate(input).EvaluateValue(-1));
        Assert.Throws<ArgumentNullException>(() => set.Evaluate(input).EvaluateTo(0, null!));
        Assert.Throws<InvalidOperationException>(() => default(ExpressionSetEvaluation).EvaluateValue(0));
    }

    [Fact]
    public void ASet_IsSharedByThreads()
    {
        CompiledExpressionSet set = JmesPath.CompileSet(s_mapping);
        string[] inputs = [.. Enumerable.Range(0, 8).Select(i => Order.Replace("A-17", "A-" + i, StringComparison.Ordinal))];
        string[][] expected = [.. inputs.Select(text => s_mapping.Select(e => JmesPath.Compile(e).EvaluateValue(Parse(text)).ToString()).ToArray())];
        using var start = new Barrier(4);
        int mismatches = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        Thread[] threads = [.. Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            JsonElement[] parsed = [.. inputs.Select(Parse)];
            start.SignalAndWait();
            try
            {
                for (int round = 0; round < 200; round++)
                {
                    int which = (round + t) % parsed.Length;
                    ExpressionSetEvaluation evaluation = set.Evaluate(parsed[which]);
                    for (int i = 0; i < s_mapping.Length; i++)
                    {
                        if (evaluation.EvaluateValue(i).ToString() != expected[which][i])
                        {
                            Interlocked.Increment(ref mismatches);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Empty(failures);
        Assert.Equal(0, mismatches);
    }

    private delegate bool WriteAction(Utf8JsonWriter writer);

    private static string Written(WriteAction write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
