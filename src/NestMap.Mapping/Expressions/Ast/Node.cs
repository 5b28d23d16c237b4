using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions.Ast;

// The syntax tree. Nodes are tiny immutable records, kept together in this file so that the whole language can be
// read at a glance. Every node knows where it starts in the expression (for error carets) and how deep its subtree is
// (the parser refuses trees deeper than the policy allows, so that neither the compiler nor the evaluator can run out
// of stack on a long left-leaning chain such as a.b.c... or a || b || c ...).

/// <summary>A node of the syntax tree.</summary>
internal abstract record Node(int Offset)
{
    /// <summary>Height of the subtree rooted here (a leaf is 1).</summary>
    public abstract int Depth { get; }

    /// <summary>Number of nodes in the subtree rooted here: the cost, in steps, of evaluating it once.</summary>
    public abstract int Size { get; }

    protected static int Sum(params ReadOnlySpan<Node> nodes)
    {
        int sum = 0;
        foreach (Node node in nodes)
        {
            sum += node.Size;
        }

        return sum;
    }

    protected static int Max(params ReadOnlySpan<Node> nodes)
    {
        int max = 0;
        foreach (Node node in nodes)
        {
            max = Math.Max(max, node.Depth);
        }

        return max;
    }
}

/// <summary>A node without children.</summary>
internal abstract record Leaf(int Offset) : Node(Offset)
{
    public override int Depth => 1;

    public override int Size => 1;
}

/// <summary>A JSON literal or raw string.</summary>
internal sealed record LiteralNode(int Offset, JValue Value) : Leaf(Offset);

/// <summary>A field of the current object (<c>foo</c> or <c>"foo"</c>).</summary>
internal sealed record FieldNode(int Offset, string Name, bool Quoted) : Leaf(Offset);

/// <summary>The current node, <c>@</c> (also the implicit start of a projection's right side).</summary>
internal sealed record CurrentNode(int Offset) : Leaf(Offset);

/// <summary>The input document, <c>$</c>.</summary>
internal sealed record RootNode(int Offset) : Leaf(Offset);

/// <summary>A variable reference, <c>$name</c>.</summary>
internal sealed record VariableNode(int Offset, string Name) : Leaf(Offset);

/// <summary>An index into the current array, <c>[n]</c>.</summary>
internal sealed record IndexNode(int Offset, int Index) : Leaf(Offset);

/// <summary>A slice of the current array or string, <c>[start:stop:step]</c>.</summary>
internal sealed record SliceNode(int Offset, int? Start, int? Stop, int Step) : Leaf(Offset);

/// <summary>Evaluates <see cref="Left"/>, then <see cref="Right"/> against its result (<c>a.b</c>, <c>a[0]</c>).</summary>
internal sealed record SubexpressionNode(int Offset, Node Left, Node Right) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right);

    public override int Size { get; } = 1 + Sum(Left, Right);
}

/// <summary>Projects <see cref="Right"/> onto each element of the array <see cref="Left"/> yields (<c>a[*].b</c>).</summary>
internal sealed record ProjectionNode(int Offset, Node Left, Node Right) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right);

    public override int Size { get; } = 1 + Sum(Left, Right);
}

/// <summary>Projects <see cref="Right"/> onto each value of the object <see cref="Left"/> yields (<c>a.*.b</c>).</summary>
internal sealed record ValueProjectionNode(int Offset, Node Left, Node Right) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right);

    public override int Size { get; } = 1 + Sum(Left, Right);
}

/// <summary>Projects <see cref="Right"/> onto the elements of <see cref="Left"/> for which <see cref="Condition"/> is true.</summary>
internal sealed record FilterProjectionNode(int Offset, Node Left, Node Right, Node Condition) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right, Condition);

    public override int Size { get; } = 1 + Sum(Left, Right, Condition);
}

/// <summary>Flattens one level of nested arrays, <c>a[]</c>.</summary>
internal sealed record FlattenNode(int Offset, Node Inner) : Node(Offset)
{
    public override int Depth { get; } = 1 + Inner.Depth;

    public override int Size { get; } = 1 + Inner.Size;
}

/// <summary><c>left | right</c>: evaluates the right side against the left's result, ending any projection.</summary>
internal sealed record PipeNode(int Offset, Node Left, Node Right) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right);

    public override int Size { get; } = 1 + Sum(Left, Right);
}

/// <summary>The binary operators that combine two values.</summary>
internal enum BinaryOperator : byte
{
    Or,
    And,
    Coalesce,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    IntegerDivide,
}

/// <summary>A binary operation: logic, comparison, arithmetic, or the <c>??</c> extension.</summary>
internal sealed record BinaryNode(int Offset, BinaryOperator Operator, Node Left, Node Right) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Left, Right);

    public override int Size { get; } = 1 + Sum(Left, Right);
}

/// <summary>The unary operators.</summary>
internal enum UnaryOperator : byte
{
    Not,
    Negate,
    Plus,
}

/// <summary>A unary operation: <c>!x</c>, <c>-x</c>, <c>+x</c>.</summary>
internal sealed record UnaryNode(int Offset, UnaryOperator Operator, Node Operand) : Node(Offset)
{
    public override int Depth { get; } = 1 + Operand.Depth;

    public override int Size { get; } = 1 + Operand.Size;
}

/// <summary><c>condition ? then : else</c>.</summary>
internal sealed record TernaryNode(int Offset, Node Condition, Node Then, Node Else) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Condition, Then, Else);

    public override int Size { get; } = 1 + Sum(Condition, Then, Else);
}

/// <summary><c>[a, b, ...]</c>.</summary>
internal sealed record MultiSelectListNode(int Offset, Node[] Items) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Items);

    public override int Size { get; } = 1 + Sum(Items);
}

/// <summary><c>{k: a, ...}</c>.</summary>
internal sealed record MultiSelectHashNode(int Offset, string[] Keys, Node[] Values) : Node(Offset)
{
    /// <summary>Whether no key repeats (a repeated key keeps its first place and its last value).</summary>
    public bool KeysAreDistinct { get; } = Keys.Distinct(StringComparer.Ordinal).Count() == Keys.Length;

    public override int Depth { get; } = 1 + Max(Values);

    public override int Size { get; } = 1 + Sum(Values);
}

/// <summary>A call of a built-in function.</summary>
internal sealed record FunctionNode(int Offset, string Name, Node[] Arguments) : Node(Offset)
{
    public override int Depth { get; } = 1 + Max(Arguments);

    public override int Size { get; } = 1 + Sum(Arguments);
}

/// <summary>An expression reference, <c>&amp;expr</c>, passed to functions such as <c>sort_by</c>.</summary>
internal sealed record ExpressionRefNode(int Offset, Node Body) : Node(Offset)
{
    public override int Depth { get; } = 1 + Body.Depth;

    public override int Size { get; } = 1 + Body.Size;
}

/// <summary><c>let $a = x, $b = y in body</c>.</summary>
internal sealed record LetNode(int Offset, string[] Names, Node[] Values, Node Body) : Node(Offset)
{
    public override int Depth { get; } = 1 + Math.Max(Max(Values), Body.Depth);

    public override int Size { get; } = 1 + Sum(Values) + Body.Size;
}
