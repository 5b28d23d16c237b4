using System.Text.Json;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>
/// The shape of the output: an object whose members are fields (leaves) or nested objects built from dotted paths, in
/// the order the spec first names them. A nested object none of whose fields has a value is left out.
/// </summary>
/// <remarks>Immutable after <see cref="Build"/>; thread-safe.</remarks>
internal sealed class OutputNode
{
    private readonly List<OutputNode> _children = [];

    private OutputNode(string name, int field)
    {
        Name = name;
        Field = field;
    }

    public string Name { get; }

    /// <summary>The index of the field written here, or -1 for an object.</summary>
    public int Field { get; }

    public static OutputNode Build(CompiledField[] fields)
    {
        var root = new OutputNode(string.Empty, -1);
        for (int i = 0; i < fields.Length; i++)
        {
            IReadOnlyList<string> segments = fields[i].Spec.Segments;
            OutputNode at = root;
            for (int s = 0; s < segments.Count - 1; s++)
            {
                OutputNode? next = at._children.Find(c => c.Name == segments[s]);
                if (next is null)
                {
                    next = new OutputNode(segments[s], -1);
                    at._children.Add(next);
                }

                at = next;
            }

            at._children.Add(new OutputNode(segments[^1], i));
        }

        return root;
    }

    /// <summary>Writes this object with the values of the fields; the root is always written, even when empty.</summary>
    public void Write(Utf8JsonWriter writer, FieldValue[] values)
    {
        writer.WriteStartObject();
        WriteMembers(writer, values);
        writer.WriteEndObject();
    }

    private void WriteMembers(Utf8JsonWriter writer, FieldValue[] values)
    {
        foreach (OutputNode child in _children)
        {
            if (child.Field >= 0)
            {
                if (values[child.Field].HasValue)
                {
                    writer.WritePropertyName(child.Name);
                    values[child.Field].WriteTo(writer);
                }
            }
            else if (child.HasAnyValue(values))
            {
                writer.WritePropertyName(child.Name);
                writer.WriteStartObject();
                child.WriteMembers(writer, values);
                writer.WriteEndObject();
            }
        }
    }

    private bool HasAnyValue(FieldValue[] values) =>
        _children.Exists(c => c.Field >= 0 ? values[c.Field].HasValue : c.HasAnyValue(values));
}
