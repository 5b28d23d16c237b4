using System.Text.Json;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Receives the non-null elements of a projection: to build the result, or to write it as it goes.</summary>
internal interface IProjectionSink
{
    /// <summary>Applies the projection's right side to one element (never null or missing) and keeps what it gives.</summary>
    void Accept(in JValue item, ref EvalContext context);
}

/// <summary>
/// The element loops of projections, shared by the evaluators (which build the result) and the writers (which stream
/// it), so that both walk the same elements and drop the same ones. Whatever follows a projection applies to each
/// element as a sub-expression, and a sub-expression of null is null (JEP-19), which the projection drops: null
/// elements never reach the sink (they still cost a step).
/// </summary>
/// <remarks>Stateless; the generic sinks are structs, so each loop is specialised and nothing is boxed.</remarks>
internal static class Projections
{
    /// <summary><c>a[*].b</c>: every element.</summary>
    public static void Elements<TSink>(in JValue array, int offset, ref TSink sink, ref EvalContext context)
        where TSink : struct, IProjectionSink
    {
        foreach (JValue item in array.EnumerateArray())
        {
            Offer(item, offset, ref sink, ref context);
        }
    }

    /// <summary><c>a[].b</c>: the elements, with nested arrays flattened one level.</summary>
    public static void Flattened<TSink>(in JValue array, int offset, ref TSink sink, ref EvalContext context)
        where TSink : struct, IProjectionSink
    {
        foreach (JValue item in array.EnumerateArray())
        {
            if (item.Type != JType.Array)
            {
                Offer(item, offset, ref sink, ref context);
                continue;
            }

            context.Step(offset);
            foreach (JValue nested in item.EnumerateArray())
            {
                Offer(nested, offset, ref sink, ref context);
            }
        }
    }

    /// <summary><c>a[?c].b</c>: the elements for which the condition is true.</summary>
    public static void Filtered<TSink>(in JValue array, Evaluator condition, int conditionCost, int offset, ref TSink sink, ref EvalContext context)
        where TSink : struct, IProjectionSink
    {
        foreach (JValue item in array.EnumerateArray())
        {
            context.Steps(conditionCost, offset);
            if (condition(item, ref context).IsTruthy)
            {
                Offer(item, offset, ref sink, ref context);
            }
        }
    }

    /// <summary><c>a.*.b</c>: the values of an object.</summary>
    public static void Values<TSink>(in JValue obj, int offset, ref TSink sink, ref EvalContext context)
        where TSink : struct, IProjectionSink
    {
        JValue.ObjectIterator members = obj.EnumerateObject();
        while (members.MoveNext())
        {
            Offer(members.CurrentValue, offset, ref sink, ref context);
        }
    }

    private static void Offer<TSink>(in JValue item, int offset, ref TSink sink, ref EvalContext context)
        where TSink : struct, IProjectionSink
    {
        if (item.IsNullOrMissing)
        {
            context.Step(offset);
            return;
        }

        sink.Accept(item, ref context);
    }
}

/// <summary>Builds a projection's result: the right side's non-null values, in order.</summary>
/// <param name="right">The right side, or null for the identity.</param>
/// <param name="cost">Steps charged per element (the right side's size).</param>
/// <param name="offset">Where the projection starts, for errors.</param>
internal struct BuildSink(Evaluator? right, int cost, int offset) : IProjectionSink
{
    /// <summary>The values collected; the owner turns them into the result and disposes them.</summary>
    public ValueList Results;

    public void Accept(in JValue item, ref EvalContext context)
    {
        context.Steps(cost, offset);
        JValue result = right is null ? item : right(item, ref context);
        if (!result.IsNullOrMissing)
        {
            Results.Add(result);
        }
    }
}

/// <summary>Writes a projection's result as it goes, with the same values and charges as <see cref="BuildSink"/>.</summary>
/// <param name="right">How to write the right side.</param>
/// <param name="cost">Steps charged per element.</param>
/// <param name="offset">Where the projection starts, for errors.</param>
/// <param name="writer">Where to write.</param>
/// <param name="budget">The output budget; read it back from <see cref="Budget"/>.</param>
internal struct WriteSink(Compiler.ItemWriter right, int cost, int offset, Utf8JsonWriter writer, long budget) : IProjectionSink
{
    /// <summary>What is left of the output budget.</summary>
    public long Budget = budget;

    public void Accept(in JValue item, ref EvalContext context)
    {
        context.Steps(cost, offset);
        context.Build(1, offset);

        // A plain field of an input object is read straight from the element (as its evaluator would, without the call).
        if (right.Field is { } field && item.IsElement)
        {
            if (item.TryGetElementMember(field, out JsonElement found) && found.ValueKind != JsonValueKind.Null)
            {
                JsonText.WriteElementValue(writer, found, ref Budget);
            }

            return;
        }

        // A list or hash is never null, so it is streamed unseen; anything else is evaluated and written unless null.
        if (right is { Streamer: { } streamer, NeverNull: true })
        {
            streamer(item, ref context, writer, ref Budget);
            return;
        }

        JValue result = right.Evaluate is null ? item : right.Evaluate(item, ref context);
        if (!result.IsNullOrMissing)
        {
            JsonText.WriteTo(writer, result, ref Budget);
        }
    }
}
