using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// Evaluates and writes at once: the value goes straight into the writer instead of being built first. Writes
/// <c>null</c> for a missing value and returns <see langword="false"/> then.
/// </summary>
internal delegate bool Writer(in JValue current, ref EvalContext context, Utf8JsonWriter writer, ref long budget);

// Streaming writers for the shapes whose values a mapping would otherwise build only to write them out: projections
// (list, flatten, filter, object values), multi-select lists and hashes, nested in one another. Their results are the
// same as the evaluators' (same null dropping, same budgets: each written item is charged as if built), so a mapping
// can stream its output; every other node is evaluated and its value written.
internal sealed partial class Compiler
{
    private static readonly JavaScriptEncoder s_encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>A streaming writer for <paramref name="node"/>, or null when the node's value is best evaluated, then written.</summary>
    /// <remarks>
    /// Writers nest as deep as the shapes they stream, so, like evaluators, every sixteenth level checks that the thread
    /// has stack left (a hash nested 900 deep, streamed on a 256 KiB stack, overflowed it before this check).
    /// </remarks>
    private Writer? WriterFor(Node node)
    {
        Writer? writer = StreamingWriterFor(node);
        return writer is not null && node.Depth % 16 == 0 ? WithStackCheck(writer) : writer;
    }

    private static Writer WithStackCheck(Writer writer) => (in JValue current, ref EvalContext context, Utf8JsonWriter output, ref long budget) =>
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return writer(current, ref context, output, ref budget);
    };

    private Writer? StreamingWriterFor(Node node) => node switch
    {
        ProjectionNode { Left: FlattenNode flatten } projection => FlattenProjectionWriter(flatten, projection),
        ProjectionNode { Left: not SubexpressionNode { Right: SliceNode } } projection => ProjectionWriter(projection),
        FilterProjectionNode filter => FilterWriter(filter),
        MultiSelectHashNode { KeysAreDistinct: true } hash => HashWriter(hash),
        MultiSelectListNode list => ListWriter(list),
        _ => null,
    };

    /// <summary>Writes the value of <paramref name="node"/>: through its writer if it has one, else evaluated.</summary>
    private ItemWriter ItemWriterFor(Node node)
    {
        Writer? writer = WriterFor(node);
        Evaluator? evaluator = node is CurrentNode ? null : _compiled[node];

        // A plain field (not one a multi-select looks up once for all its values) is read straight from an input
        // object: no call, no value built. The commonest member of a hash ({sku: sku, qty: quantity}).
        byte[]? field = !GeneralPathsOnly && node is FieldNode f && !_sharedSites.ContainsKey(f) ? Encoding.UTF8.GetBytes(f.Name) : null;
        return new ItemWriter(writer, evaluator, NeverNull: node is MultiSelectHashNode or MultiSelectListNode, field);
    }

    private Writer ProjectionWriter(ProjectionNode projection) =>
        Stream(_compiled[projection.Left], Projections.Elements, ItemWriterFor(projection.Right), projection.Right.Size, projection.Offset);

    private Writer FlattenProjectionWriter(FlattenNode flatten, ProjectionNode projection) =>
        Stream(_compiled[flatten.Inner], Projections.Flattened, ItemWriterFor(projection.Right), projection.Right.Size, projection.Offset);

    private Writer FilterWriter(FilterProjectionNode filter)
    {
        Evaluator condition = _compiled[filter.Condition];
        int conditionCost = filter.Condition.Size;
        return Stream(
            _compiled[filter.Left],
            (in JValue array, int offset, ref WriteSink sink, ref EvalContext context) => Projections.Filtered(array, condition, conditionCost, offset, ref sink, ref context),
            ItemWriterFor(filter.Right),
            filter.Right.Size,
            filter.Offset);
    }

    /// <summary>A projection that writes as it goes: the same walk as its evaluator, into a <see cref="WriteSink"/>.</summary>
    private static Writer Stream(Evaluator left, SinkWalk<WriteSink> walk, ItemWriter right, int cost, int offset) =>
        (in JValue current, ref EvalContext context, Utf8JsonWriter writer, ref long budget) =>
        {
            JValue array = left(current, ref context);
            if (array.Type != JType.Array)
            {
                writer.WriteNullValue();
                return false;
            }

            writer.WriteStartArray();
            var sink = new WriteSink(right, cost, offset, writer, budget);
            walk(array, offset, ref sink, ref context);
            budget = sink.Budget;
            writer.WriteEndArray();
            return true;
        };

    private Writer HashWriter(MultiSelectHashNode hash)
    {
        JsonEncodedText[] names = [.. hash.Keys.Select(k => JsonEncodedText.Encode(k, s_encoder))];
        ItemWriter[] values = [.. hash.Values.Select(ItemWriterFor)];
        int offset = hash.Offset;
        SharedLookup[]? shared = _sharedLookups.GetValueOrDefault(hash);
        return (in JValue current, ref EvalContext context, Utf8JsonWriter writer, ref long budget) =>
        {
            if (shared is not null)
            {
                LookUpShared(shared, current, context.Slots!);
            }

            context.Build(names.Length, offset);
            writer.WriteStartObject();
            for (int i = 0; i < names.Length; i++)
            {
                writer.WritePropertyName(names[i]);
                values[i].Write(current, ref context, writer, ref budget);
            }

            writer.WriteEndObject();
            return true;
        };
    }

    private Writer ListWriter(MultiSelectListNode list)
    {
        ItemWriter[] items = [.. list.Items.Select(ItemWriterFor)];
        int offset = list.Offset;
        SharedLookup[]? shared = _sharedLookups.GetValueOrDefault(list);
        return (in JValue current, ref EvalContext context, Utf8JsonWriter writer, ref long budget) =>
        {
            if (shared is not null)
            {
                LookUpShared(shared, current, context.Slots!);
            }

            context.Build(items.Length, offset);
            writer.WriteStartArray();
            for (int i = 0; i < items.Length; i++)
            {
                items[i].Write(current, ref context, writer, ref budget);
            }

            writer.WriteEndArray();
            return true;
        };
    }

    /// <summary>Writes one value: through a streaming writer, or by evaluating it (null for identity) and writing the value.</summary>
    /// <param name="Streamer">The streaming writer, if the node has one.</param>
    /// <param name="Evaluate">The evaluator, or null for the identity (<c>@</c>).</param>
    /// <param name="NeverNull">Whether the value can never be null (a list or hash), so a projection may stream it unseen.</param>
    /// <param name="Field">The field's name in UTF-8, when the value is a plain field of the current object (read without a call).</param>
    internal readonly record struct ItemWriter(Writer? Streamer, Evaluator? Evaluate, bool NeverNull, byte[]? Field = null)
    {
        /// <summary>Writes the value as a member of a list or hash: a missing value is written as null.</summary>
        public void Write(in JValue current, ref EvalContext context, Utf8JsonWriter output, ref long budget)
        {
            if (Field is { } field && current.IsElement)
            {
                // What the field's evaluator and WriteTo do together, over an input element.
                if (current.TryGetElementMember(field, out JsonElement found))
                {
                    JsonText.WriteElementValue(output, found, ref budget);
                }
                else
                {
                    JsonText.WriteTo(output, JValue.Missing, ref budget);
                }

                return;
            }

            if (Streamer is not null)
            {
                Streamer(current, ref context, output, ref budget);
                return;
            }

            JValue value = Evaluate is null ? current : Evaluate(current, ref context);
            JsonText.WriteTo(output, value, ref budget);
        }
    }
}
