using System.Text;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

// Folds: sum, avg, length and join over a projection (sum(items[].price), join(', ', items[].sku),
// length(items[?x])) consume the projection's values as they are produced instead of building the array and then
// walking it. The result, the errors and every budget charge are the general path's: the fold charges the same
// steps and the same built values (in the same order of checks), and on any value the function would refuse it puts
// the budgets back and runs the general path, which reports the error exactly as before.
internal sealed partial class Compiler
{
    /// <summary>What a fold computes.</summary>
    internal enum FoldKind
    {
        Count,
        Sum,
        Average,
        Join,
    }

    /// <summary>A folding evaluator for <paramref name="call"/>, or null when its array argument is not a projection.</summary>
    private Evaluator? FoldFor(FunctionNode call, Evaluator general)
    {
        FoldKind? kind = call.Name switch
        {
            "length" => FoldKind.Count,
            "sum" => FoldKind.Sum,
            "avg" => FoldKind.Average,
            "join" => FoldKind.Join,
            _ => null,
        };
        // An expression reference as an argument is a type error of the general path (and has no evaluator of its own).
        if (GeneralPathsOnly || kind is not { } fold || call.Arguments.Length != (fold == FoldKind.Join ? 2 : 1)
            || call.Arguments.Any(a => a is ExpressionRefNode))
        {
            return null;
        }

        Node source = call.Arguments[^1];
        Evaluator? glue = fold == FoldKind.Join ? _compiled[call.Arguments[0]] : null;
        var shape = new FoldShape(fold, call.Offset, glue, general, fold == FoldKind.Join ? ConstantString(call.Arguments[0]) : null);
        return source switch
        {
            ProjectionNode { Left: FlattenNode flatten } projection =>
                Fold(shape, _compiled[flatten.Inner], Projections.Flattened, RightOf(projection), projection.Right.Size, projection.Offset),
            ProjectionNode { Left: not SubexpressionNode { Right: SliceNode } } projection =>
                Fold(shape, _compiled[projection.Left], Projections.Elements, RightOf(projection), projection.Right.Size, projection.Offset),
            FilterProjectionNode filter => FilterFold(shape, filter),
            _ => null,
        };
    }

    private Evaluator? RightOf(ProjectionNode projection) => projection.Right is CurrentNode ? null : _compiled[projection.Right];

    private Evaluator FilterFold(FoldShape shape, FilterProjectionNode filter)
    {
        Evaluator condition = _compiled[filter.Condition];
        int conditionCost = filter.Condition.Size;
        return Fold(
            shape,
            _compiled[filter.Left],
            (in JValue array, int offset, ref FoldSink sink, ref EvalContext context) => Projections.Filtered(array, condition, conditionCost, offset, ref sink, ref context),
            filter.Right is CurrentNode ? null : _compiled[filter.Right],
            filter.Right.Size,
            filter.Offset);
    }

    private static Evaluator Fold(FoldShape shape, Evaluator left, SinkWalk<FoldSink> walk, Evaluator? right, int cost, int projectionOffset) =>
        (in JValue current, ref EvalContext context) =>
        {
            EvalContext.Charges before = context.SaveCharges();
            int offset = shape.Offset;
            context.Step(offset);

            // Arguments in the general path's order: the glue first, then the projection's source.
            JValue glue = shape.Glue is null ? default : shape.Glue(current, ref context);
            JValue array = left(current, ref context);
            if (array.Type != JType.Array || (shape.Glue is not null && glue.Type != JType.String))
            {
                return Fallback(shape, before, current, ref context);
            }

            var sink = default(FoldSink);
            try
            {
                // The general path reads strings only inside join, after the walk and the type checks: a string the
                // fold cannot read (a lone surrogate escape) is left for it to report.
                sink = new FoldSink(shape.Kind, right, cost, projectionOffset, shape.Kind == FoldKind.Join ? shape.ConstantGlue ?? ReadStringForFold(glue) : null);
                walk(array, projectionOffset, ref sink, ref context);

                // The general path builds the projection's array (charged here), then the function walks it (one step
                // per item for sum, avg and join; length reads the count).
                context.Build(sink.Count, projectionOffset);
                return sink.Finish(ref context, offset);
            }
            catch (FoldRefusedException)
            {
                // Up to the refused value the fold charged exactly what the general path charges, so any limit error
                // it raised before this point is the general path's too; from here the general path decides.
                return Fallback(shape, before, current, ref context);
            }
            finally
            {
                sink.Dispose();
            }
        };

    /// <summary>
    /// The text of a string literal, read once at compile time (a join's glue is nearly always one), or null for
    /// anything else and for a literal that cannot be read (its evaluation reports that).
    /// </summary>
    private static string? ConstantString(Node node)
    {
        if (node is not LiteralNode { Value: { Type: JType.String } literal })
        {
            return null;
        }

        try
        {
            return literal.String;
        }
        catch (InvalidTextException)
        {
            return null;
        }
    }

    /// <summary>A string value for a fold; one it cannot read refuses the fold (the general path reports it in its place).</summary>
    internal static string ReadStringForFold(in JValue value)
    {
        try
        {
            return value.String;
        }
        catch (InvalidTextException)
        {
            throw new FoldRefusedException();
        }
    }

    private static JValue Fallback(FoldShape shape, EvalContext.Charges before, in JValue current, ref EvalContext context)
    {
        context.RestoreCharges(before);
        return shape.General(current, ref context);
    }

    /// <summary>The parts of a folding call that do not depend on the projection.</summary>
    private sealed record FoldShape(FoldKind Kind, int Offset, Evaluator? Glue, Evaluator General, string? ConstantGlue);
}

/// <summary>Folds a projection's non-null values into a count, a sum or a joined string as they are produced.</summary>
internal struct FoldSink(Compiler.FoldKind kind, Evaluator? right, int cost, int offset, string? glue) : IProjectionSink
{
    [ThreadStatic]
    private static StringBuilder? s_cachedText;

    private StringBuilder? _text;
    private double _sum;

    /// <summary>Gets how many values the projection produced.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Takes one value; throws <see cref="FoldRefusedException"/> on a value the function refuses or a string past the
    /// limit, which stops the walk at once (the caller then takes the general path).
    /// </summary>
    public void Accept(in JValue item, ref EvalContext context)
    {
        context.Steps(cost, offset);
        JValue result = right is null ? item : right(item, ref context);
        if (result.IsNullOrMissing)
        {
            return;
        }

        Count++;
        switch (kind)
        {
            case Compiler.FoldKind.Sum or Compiler.FoldKind.Average:
                if (result.Type != JType.Number)
                {
                    throw new FoldRefusedException();
                }

                _sum += result.Number;
                break;
            case Compiler.FoldKind.Join:
                if (result.Type != JType.String)
                {
                    throw new FoldRefusedException();
                }

                if (_text is null)
                {
                    // One builder per thread, taken while in use (a join inside a join's projection makes its own).
                    _text = s_cachedText ?? new StringBuilder();
                    s_cachedText = null;
                }
                else
                {
                    _text.Append(glue);
                }

                if (!JsonText.TryAppendString(_text, result))
                {
                    _text.Append(Compiler.ReadStringForFold(result));
                }

                if (!context.StringFits(_text.Length))
                {
                    throw new FoldRefusedException();
                }

                break;
        }
    }

    /// <summary>The function's result, after charging the function's own walk of the values.</summary>
    public readonly JValue Finish(ref EvalContext context, int callOffset)
    {
        if (kind == Compiler.FoldKind.Count)
        {
            return JValue.FromNumber(Count);
        }

        context.Steps(Count, callOffset);
        switch (kind)
        {
            case Compiler.FoldKind.Sum:
                return FunctionTable.Finite(_sum, "sum", ref context, callOffset);
            case Compiler.FoldKind.Average:
                return Count == 0 ? JValue.Null : FunctionTable.Finite(_sum / Count, "avg", ref context, callOffset);
            default:
                return _text is null ? JValue.EmptyString : JValue.FromString(_text.ToString());
        }
    }

    /// <summary>Hands the builder back to the thread's cache.</summary>
    public void Dispose()
    {
        if (_text is not null && _text.Capacity <= 4096)
        {
            _text.Clear();
            s_cachedText = _text;
        }

        _text = null;
    }
}

/// <summary>Stops a fold at a value its function refuses; never escapes the fold.</summary>
internal sealed class FoldRefusedException : Exception
{
}

// contains(array, 'literal'): the commonest filter condition (items[?contains(tags, 'fragile')]) compares each element
// of an input array with a constant string. Compared in place: the element's JSON text against the literal's, with
// the same charges as the general path (a step per element and one per comparison) and the general path for anything
// else (a string subject, a built array, a literal with escapes).
internal sealed partial class Compiler
{
    /// <summary>Set only by tests, on their own thread, to compile the general path of an expression and compare it with the fast one.</summary>
    [ThreadStatic]
    internal static bool GeneralPathsOnly;

    private static Evaluator? ContainsLiteral(FunctionNode call, Evaluator[] arguments, Evaluator general)
    {
        if (GeneralPathsOnly || call.Name != "contains" || call.Arguments is not [_, LiteralNode { Value: { Type: JType.String, IsElement: true } literal }])
        {
            return null;
        }

        byte[] needle = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(literal.Element).ToArray();
        if (needle.AsSpan().Contains((byte)'\\'))
        {
            return null;
        }

        Evaluator subject = arguments[0];
        int offset = call.Offset;
        return (in JValue current, ref EvalContext context) =>
        {
            EvalContext.Charges before = context.SaveCharges();
            context.Step(offset);
            JValue array = subject(current, ref context);
            if (array.Type != JType.Array || !array.IsElement)
            {
                context.RestoreCharges(before);
                return general(current, ref context);
            }

            foreach (System.Text.Json.JsonElement item in array.Element.EnumerateArray())
            {
                // The general path: a step for the element, then one for the comparison.
                context.Step(offset);
                context.Step(offset);
                if (item.ValueKind == System.Text.Json.JsonValueKind.String && JsonText.StringEquals(item, needle))
                {
                    return JValue.True;
                }
            }

            return JValue.False;
        };
    }
}
