using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>The kind of a YAML node.</summary>
internal enum YamlKind : byte
{
    Scalar,
    Mapping,
    Sequence,
}

/// <summary>A YAML node with its position: a scalar, a mapping (pairs in order, duplicates kept for the reader to report) or a sequence.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Line">Line where it starts, from 1.</param>
/// <param name="Column">Column where it starts, from 1.</param>
internal sealed record YamlNode(YamlKind Kind, int Line, int Column)
{
    /// <summary>The text of a scalar.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>Whether a scalar was written plain (unquoted): only plain scalars can be null, booleans or numbers.</summary>
    public bool Plain { get; init; }

    /// <summary>The pairs of a mapping, in order.</summary>
    public List<(YamlNode Key, YamlNode Value)> Pairs { get; } = [];

    /// <summary>The items of a sequence.</summary>
    public List<YamlNode> Items { get; } = [];
}

/// <summary>
/// Reads YAML into <see cref="YamlNode"/>s with YamlDotNet's event parser, keeping positions. An alias refers to its
/// anchored node (it is not copied), and the number of aliases is capped, so an alias bomb ("billion laughs") costs
/// nothing here; whoever walks the tree and expands values counts what it produces. Nesting is bounded.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class YamlTree
{
    public const int MaxAliases = 100;
    public const int MaxDepth = 64;

    /// <summary>Parses one YAML document; an empty document gives <see langword="null"/>.</summary>
    /// <exception cref="SpecError">The YAML is malformed, has several documents, too many aliases or too deep nesting.</exception>
    public static YamlNode? Parse(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        int aliases = 0;
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            YamlNode root = ReadNode(parser, anchors, ref aliases, 0);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
            {
                (int line, int column) = Position(parser.Current!.Start);
                throw new SpecError(MappingErrorCodes.YamlSyntax, "a spec file holds one YAML document; found another", line, column);
            }

            return root;
        }
        catch (YamlException e)
        {
            (int line, int column) = Position(e.Start);
            throw new SpecError(MappingErrorCodes.YamlSyntax, "invalid YAML: " + FirstLine(e.Message), line, column);
        }
    }

    private static YamlNode ReadNode(IParser parser, Dictionary<string, YamlNode> anchors, ref int aliases, int depth)
    {
        ParsingEvent next = parser.Current!;
        (int line, int column) = Position(next.Start);
        if (depth > MaxDepth)
        {
            throw new SpecError(MappingErrorCodes.SpecTooLarge, $"YAML nested deeper than {MaxDepth} levels", line, column);
        }

        switch (next)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                if (++aliases > MaxAliases)
                {
                    throw new SpecError(MappingErrorCodes.SpecTooLarge, $"more than {MaxAliases} YAML aliases", line, column);
                }

                return anchors.TryGetValue(alias.Value.Value, out YamlNode? target)
                    ? target
                    : throw new SpecError(MappingErrorCodes.YamlSyntax, $"unknown YAML alias '*{alias.Value.Value}'", line, column);
            case Scalar scalar:
                {
                    parser.MoveNext();
                    var node = new YamlNode(YamlKind.Scalar, line, column)
                    {
                        Value = scalar.Value,
                        Plain = scalar.Style == ScalarStyle.Plain && scalar.Tag.IsEmpty,
                    };
                    Remember(anchors, scalar.Anchor, node);
                    return node;
                }

            case SequenceStart start:
                {
                    parser.MoveNext();
                    var node = new YamlNode(YamlKind.Sequence, line, column);
                    Remember(anchors, start.Anchor, node);
                    while (!parser.TryConsume<SequenceEnd>(out _))
                    {
                        node.Items.Add(ReadNode(parser, anchors, ref aliases, depth + 1));
                    }

                    return node;
                }

            case MappingStart start:
                {
                    parser.MoveNext();
                    var node = new YamlNode(YamlKind.Mapping, line, column);
                    Remember(anchors, start.Anchor, node);
                    while (!parser.TryConsume<MappingEnd>(out _))
                    {
                        YamlNode key = ReadNode(parser, anchors, ref aliases, depth + 1);
                        YamlNode value = ReadNode(parser, anchors, ref aliases, depth + 1);
                        node.Pairs.Add((key, value));
                    }

                    return node;
                }

            default:
                throw new SpecError(MappingErrorCodes.YamlSyntax, "unexpected YAML " + next.GetType().Name, line, column);
        }
    }

    private static void Remember(Dictionary<string, YamlNode> anchors, AnchorName anchor, YamlNode node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    private static (int Line, int Column) Position(Mark mark) => ((int)mark.Line, (int)mark.Column);

    private static string FirstLine(string message)
    {
        int end = message.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
