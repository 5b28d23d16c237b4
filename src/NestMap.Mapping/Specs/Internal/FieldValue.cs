using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>The outcome of one field in one mapping: a value to write (an expression value or a node), or none.</summary>
internal readonly struct FieldValue
{
    private readonly ExpressionValue _value;
    private readonly JsonNode? _node;
    private readonly bool _isNode;

    private FieldValue(FieldStatus status, string? errorCode, long steps, ExpressionValue value, JsonNode? node, bool isNode)
    {
        Status = status;
        ErrorCode = errorCode;
        Steps = steps;
        _value = value;
        _node = node;
        _isNode = isNode;
    }

    public FieldStatus Status { get; }

    public string? ErrorCode { get; }

    public long Steps { get; }

    /// <summary>Whether there is something to write.</summary>
    public bool HasValue => Status is FieldStatus.Ok or FieldStatus.Defaulted;

    public static FieldValue Of(ExpressionValue value, long steps) => new(FieldStatus.Ok, null, steps, value, null, false);

    public static FieldValue Node(JsonNode? node, FieldStatus status, long steps) => new(status, null, steps, default, node, true);

    public static FieldValue NoData(long steps) => new(FieldStatus.NoData, null, steps, default, null, false);

    public static FieldValue Failed(string code, long steps) => new(FieldStatus.Error, code, steps, default, null, false);

    public void WriteTo(Utf8JsonWriter writer)
    {
        if (!_isNode)
        {
            _value.WriteTo(writer);
        }
        else if (_node is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            _node.WriteTo(writer);
        }
    }
}
