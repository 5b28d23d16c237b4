using System.Runtime.CompilerServices;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// A Pratt (top-down operator precedence) parser for JMESPath, community edition, with the binding powers of the
/// reference implementation (jmespath.py) extended by the community JEPs: the ternary sits between <c>|</c> and
/// <c>||</c>, arithmetic between the comparators and the projection stop.
/// </summary>
/// <remarks>
/// Recursion is bounded twice: every nested call of <see cref="Expression"/> counts against the nesting limit, and so
/// does the height of every node built (a left-leaning chain such as <c>a || b || c ...</c> is built by a loop, not by
/// recursion, but compiling and evaluating it would recurse). Either limit raises a coded <c>limit</c> error instead of
/// overflowing the stack. Not thread-safe; one instance per compilation.
/// </remarks>
internal sealed class Parser
{
    // Binding powers, weakest first. Tokens with power 0 end an expression.
    private const int PipePower = 1;
    private const int TernaryPower = 2;
    private const int OrPower = 3;
    private const int AndPower = 4;
    private const int ComparePower = 5;
    private const int AdditivePower = 6;
    private const int MultiplicativePower = 7;
    private const int UnaryArithmeticPower = 8;
    private const int FlattenPower = 9;

    /// <summary>Tokens weaker than this end the right side of a projection.</summary>
    private const int ProjectionStop = 10;
    private const int StarPower = 20;
    private const int FilterPower = 21;
    private const int DotPower = 40;
    private const int NotPower = 45;
    private const int LBracePower = 50;
    private const int LBracketPower = 55;
    private const int LParenPower = 60;

    private readonly string _text;
    private readonly List<Token> _tokens;
    private readonly int _maxDepth;
    private readonly int _maxNodes;
    private int _index;
    private int _depth;
    private int _nodes;

    private Parser(string text, List<Token> tokens, int maxDepth, int maxNodes)
    {
        _text = text;
        _tokens = tokens;
        _maxDepth = maxDepth;
        _maxNodes = maxNodes;
    }

    /// <summary>Parses a whole expression.</summary>
    public static Node Parse(string text, List<Token> tokens, int maxDepth, int maxNodes, out int nodes)
    {
        var parser = new Parser(text, tokens, maxDepth, maxNodes);
        Node node = parser.Expression(0);
        if (parser.Current.Kind != TokenKind.Eof)
        {
            throw parser.Unexpected(parser.Current);
        }

        nodes = parser._nodes;
        return node;
    }

    private Token Current => _tokens[_index];

    private Token Lookahead(int ahead) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Advance()
    {
        Token token = _tokens[_index];
        if (_index < _tokens.Count - 1)
        {
            _index++;
        }

        return token;
    }

    private ExpressionException Syntax(string detail, int offset) => new(ExpressionErrorKind.Syntax, detail, _text, offset);

    private ExpressionException Unexpected(Token token) => token.Kind == TokenKind.Eof
        ? Syntax(ErrorMessages.UnexpectedEnd, token.Offset)
        : Syntax(ErrorMessages.Format(ErrorMessages.UnexpectedToken, Describe(token)), token.Offset);

    private string Describe(Token token)
    {
        int end = token.Offset;
        while (end < _text.Length && end < token.Offset + 20 && !char.IsWhiteSpace(_text[end]))
        {
            end++;
        }

        return end == token.Offset ? token.Kind.ToString() : "'" + _text[token.Offset..end] + "'";
    }

    private void Match(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            throw Unexpected(Current);
        }

        _index++;
    }

    /// <summary>Counts a node against the size limit and its height against the nesting limit.</summary>
    private T Made<T>(T node)
        where T : Node
    {
        if (++_nodes > _maxNodes)
        {
            throw new ExpressionException(
                ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.TooManyNodes, _maxNodes), _text, node.Offset);
        }

        if (node.Depth > _maxDepth)
        {
            throw TooDeep(node.Offset);
        }

        return node;
    }

    private ExpressionException TooDeep(int offset) =>
        new(ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.TooDeep, _maxDepth), _text, offset);

    private Node Expression(int rightPower)
    {
        if (++_depth > _maxDepth)
        {
            throw TooDeep(Current.Offset);
        }

        // The nesting limit bounds the recursion; this also protects threads with small stacks.
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw new ExpressionException(ExpressionErrorKind.Limit, ErrorMessages.StackExhausted, _text, Current.Offset);
        }

        Node left = Nud(Advance());
        while (rightPower < LeftPower(Current.Kind))
        {
            left = Led(Advance(), left);
        }

        _depth--;
        return left;
    }

    private static int LeftPower(TokenKind kind) => kind switch
    {
        TokenKind.Pipe => PipePower,
        TokenKind.Question => TernaryPower,
        TokenKind.Or or TokenKind.Coalesce => OrPower,
        TokenKind.And => AndPower,
        TokenKind.Eq or TokenKind.Ne or TokenKind.Lt or TokenKind.Lte or TokenKind.Gt or TokenKind.Gte => ComparePower,
        TokenKind.Plus or TokenKind.Minus => AdditivePower,
        TokenKind.Star or TokenKind.Multiply or TokenKind.Divide or TokenKind.Modulo or TokenKind.IntDivide => MultiplicativePower,
        TokenKind.Flatten => FlattenPower,
        TokenKind.Filter => FilterPower,
        TokenKind.Dot => DotPower,
        TokenKind.LBrace => LBracePower,
        TokenKind.LBracket => LBracketPower,
        TokenKind.LParen => LParenPower,
        _ => 0,
    };

    private Node Nud(Token token)
    {
        switch (token.Kind)
        {
            case TokenKind.Literal:
                return Made(new LiteralNode(token.Offset, token.Literal));
            case TokenKind.RawString:
                return Made(new LiteralNode(token.Offset, token.Literal));
            case TokenKind.UnquotedIdentifier:
                if (token.Text == "let" && Current.Kind == TokenKind.Variable)
                {
                    return Let(token);
                }

                return Made(new FieldNode(token.Offset, token.Text!, Quoted: false));
            case TokenKind.QuotedIdentifier:
                if (Current.Kind == TokenKind.LParen)
                {
                    throw Syntax(ErrorMessages.QuotedFunctionName, Current.Offset);
                }

                return Made(new FieldNode(token.Offset, token.Text!, Quoted: true));
            case TokenKind.Star:
                return Made(new ValueProjectionNode(token.Offset, Made(new CurrentNode(token.Offset)), ProjectionRight(StarPower)));
            case TokenKind.Filter:
                return Filter(token, Made(new CurrentNode(token.Offset)));
            case TokenKind.LBrace:
                return MultiSelectHash(token);
            case TokenKind.Flatten:
                {
                    Node flattened = Made(new FlattenNode(token.Offset, Made(new CurrentNode(token.Offset))));
                    return Made(new ProjectionNode(token.Offset, flattened, ProjectionRight(FlattenPower)));
                }

            case TokenKind.LBracket:
                if (Current.Kind is TokenKind.Number or TokenKind.Colon)
                {
                    return ProjectIfSlice(Made(new CurrentNode(token.Offset)), IndexOrSlice(token));
                }

                if (Current.Kind == TokenKind.Star && Lookahead(1).Kind == TokenKind.RBracket)
                {
                    _index += 2;
                    return Made(new ProjectionNode(token.Offset, Made(new CurrentNode(token.Offset)), ProjectionRight(StarPower)));
                }

                return MultiSelectList(token);
            case TokenKind.Current:
                return Made(new CurrentNode(token.Offset));
            case TokenKind.Root:
                return Made(new RootNode(token.Offset));
            case TokenKind.Variable:
                return Made(new VariableNode(token.Offset, token.Text!));
            case TokenKind.Expref:
                return Made(new ExpressionRefNode(token.Offset, Expression(0)));
            case TokenKind.Not:
                return Made(new UnaryNode(token.Offset, UnaryOperator.Not, Expression(NotPower)));
            case TokenKind.Minus:
                return Made(new UnaryNode(token.Offset, UnaryOperator.Negate, Expression(UnaryArithmeticPower)));
            case TokenKind.Plus:
                return Made(new UnaryNode(token.Offset, UnaryOperator.Plus, Expression(UnaryArithmeticPower)));
            case TokenKind.LParen:
                {
                    Node inner = Expression(0);
                    Match(TokenKind.RParen);
                    return inner;
                }

            default:
                throw Unexpected(token);
        }
    }

    private Node Led(Token token, Node left)
    {
        switch (token.Kind)
        {
            case TokenKind.Dot:
                if (Current.Kind == TokenKind.Star)
                {
                    _index++;
                    return Made(new ValueProjectionNode(token.Offset, left, ProjectionRight(StarPower)));
                }

                return Made(new SubexpressionNode(token.Offset, left, DotRight(DotPower)));
            case TokenKind.Pipe:
                return Made(new PipeNode(token.Offset, left, Expression(PipePower)));
            case TokenKind.Or:
                return Binary(token, BinaryOperator.Or, left, OrPower);
            case TokenKind.Coalesce:
                return Binary(token, BinaryOperator.Coalesce, left, OrPower);
            case TokenKind.And:
                return Binary(token, BinaryOperator.And, left, AndPower);
            case TokenKind.Eq:
                return Binary(token, BinaryOperator.Equal, left, ComparePower);
            case TokenKind.Ne:
                return Binary(token, BinaryOperator.NotEqual, left, ComparePower);
            case TokenKind.Lt:
                return Binary(token, BinaryOperator.Less, left, ComparePower);
            case TokenKind.Lte:
                return Binary(token, BinaryOperator.LessOrEqual, left, ComparePower);
            case TokenKind.Gt:
                return Binary(token, BinaryOperator.Greater, left, ComparePower);
            case TokenKind.Gte:
                return Binary(token, BinaryOperator.GreaterOrEqual, left, ComparePower);
            case TokenKind.Plus:
                return Binary(token, BinaryOperator.Add, left, AdditivePower);
            case TokenKind.Minus:
                return Binary(token, BinaryOperator.Subtract, left, AdditivePower);
            case TokenKind.Star or TokenKind.Multiply:
                return Binary(token, BinaryOperator.Multiply, left, MultiplicativePower);
            case TokenKind.Divide:
                return Binary(token, BinaryOperator.Divide, left, MultiplicativePower);
            case TokenKind.Modulo:
                return Binary(token, BinaryOperator.Modulo, left, MultiplicativePower);
            case TokenKind.IntDivide:
                return Binary(token, BinaryOperator.IntegerDivide, left, MultiplicativePower);
            case TokenKind.Question:
                {
                    // Right-associative: the else branch is parsed just above the pipe, so it takes a following '?'.
                    Node then = Expression(0);
                    Match(TokenKind.Colon);
                    Node otherwise = Expression(PipePower);
                    return Made(new TernaryNode(token.Offset, left, then, otherwise));
                }

            case TokenKind.LParen:
                return Function(token, left);
            case TokenKind.Filter:
                return Filter(token, left);
            case TokenKind.Flatten:
                return Made(new ProjectionNode(token.Offset, Made(new FlattenNode(token.Offset, left)), ProjectionRight(FlattenPower)));
            case TokenKind.LBracket:
                if (Current.Kind is TokenKind.Number or TokenKind.Colon)
                {
                    return ProjectIfSlice(left, IndexOrSlice(token));
                }

                Match(TokenKind.Star);
                Match(TokenKind.RBracket);
                return Made(new ProjectionNode(token.Offset, left, ProjectionRight(StarPower)));
            default:
                throw Unexpected(token);
        }
    }

    private BinaryNode Binary(Token token, BinaryOperator op, Node left, int power) =>
        Made(new BinaryNode(token.Offset, op, left, Expression(power)));

    /// <summary>An index stays a plain selection; a slice starts a projection, like <c>[*]</c>.</summary>
    private Node ProjectIfSlice(Node left, Node selection)
    {
        Node indexed = Made(new SubexpressionNode(selection.Offset, left, selection));
        return selection is SliceNode ? Made(new ProjectionNode(selection.Offset, indexed, ProjectionRight(StarPower))) : indexed;
    }

    /// <summary>Parses <c>n]</c> or a slice <c>[start]:[stop][:[step]]]</c>; the opening bracket is consumed.</summary>
    private Node IndexOrSlice(Token open)
    {
        if (Current.Kind == TokenKind.Number && Lookahead(1).Kind == TokenKind.RBracket)
        {
            int index = Advance().Number;
            _index++;
            return Made(new IndexNode(open.Offset, index));
        }

        var parts = new int?[3];
        int part = 0;
        while (Current.Kind != TokenKind.RBracket)
        {
            switch (Current.Kind)
            {
                case TokenKind.Colon:
                    if (++part > 2)
                    {
                        throw Unexpected(Current);
                    }

                    _index++;
                    break;
                case TokenKind.Number when parts[part] is null:
                    parts[part] = Advance().Number;
                    break;
                default:
                    throw Unexpected(Current);
            }
        }

        _index++;
        if (parts[2] == 0)
        {
            throw new ExpressionException(ExpressionErrorKind.InvalidValue, ErrorMessages.SliceStepZero, _text, open.Offset);
        }

        return Made(new SliceNode(open.Offset, parts[0], parts[1], parts[2] ?? 1));
    }

    private Node ProjectionRight(int power)
    {
        Token next = Current;
        if (LeftPower(next.Kind) < ProjectionStop)
        {
            return Made(new CurrentNode(next.Offset));
        }

        switch (next.Kind)
        {
            case TokenKind.LBracket:
            case TokenKind.Filter:
                return Expression(power);
            case TokenKind.Dot:
                _index++;
                return DotRight(power);
            default:
                throw Unexpected(next);
        }
    }

    private Node DotRight(int power)
    {
        Token next = Current;
        switch (next.Kind)
        {
            case TokenKind.UnquotedIdentifier:
            case TokenKind.QuotedIdentifier:
            case TokenKind.Star:
                return Expression(power);
            case TokenKind.LBracket:
                _index++;
                return MultiSelectList(next);
            case TokenKind.LBrace:
                _index++;
                return MultiSelectHash(next);
            default:
                throw Unexpected(next);
        }
    }

    private FilterProjectionNode Filter(Token token, Node left)
    {
        Node condition = Expression(0);
        Match(TokenKind.RBracket);
        Node right = Current.Kind == TokenKind.Flatten ? Made(new CurrentNode(Current.Offset)) : ProjectionRight(FilterPower);
        return Made(new FilterProjectionNode(token.Offset, left, right, condition));
    }

    private MultiSelectListNode MultiSelectList(Token open)
    {
        var items = new List<Node>();
        while (true)
        {
            items.Add(Expression(0));
            if (Current.Kind == TokenKind.RBracket)
            {
                _index++;
                return Made(new MultiSelectListNode(open.Offset, [.. items]));
            }

            Match(TokenKind.Comma);
        }
    }

    private MultiSelectHashNode MultiSelectHash(Token open)
    {
        var keys = new List<string>();
        var values = new List<Node>();
        while (true)
        {
            Token key = Advance();
            if (key.Kind is not (TokenKind.UnquotedIdentifier or TokenKind.QuotedIdentifier))
            {
                throw key.Kind == TokenKind.Eof ? Unexpected(key) : Syntax(ErrorMessages.HashKeyExpected, key.Offset);
            }

            Match(TokenKind.Colon);
            keys.Add(key.Text!);
            values.Add(Expression(0));
            if (Current.Kind == TokenKind.RBrace)
            {
                _index++;
                return Made(new MultiSelectHashNode(open.Offset, [.. keys], [.. values]));
            }

            Match(TokenKind.Comma);
        }
    }

    private FunctionNode Function(Token open, Node left)
    {
        if (left is not FieldNode { Quoted: false } name)
        {
            throw Syntax(ErrorMessages.FunctionNameExpected, open.Offset);
        }

        var arguments = new List<Node>();
        if (Current.Kind == TokenKind.RParen)
        {
            _index++;
        }
        else
        {
            while (true)
            {
                arguments.Add(Expression(0));
                if (Current.Kind == TokenKind.RParen)
                {
                    _index++;
                    break;
                }

                Match(TokenKind.Comma);
            }
        }

        return Made(new FunctionNode(name.Offset, name.Name, [.. arguments]));
    }

    private LetNode Let(Token letToken)
    {
        var names = new List<string>();
        var values = new List<Node>();
        while (true)
        {
            Token variable = Advance();
            if (variable.Kind != TokenKind.Variable)
            {
                throw Unexpected(variable);
            }

            Match(TokenKind.Assign);
            names.Add(variable.Text!);
            values.Add(Expression(0));
            if (Current.Kind == TokenKind.Comma)
            {
                _index++;
                continue;
            }

            if (Current is { Kind: TokenKind.UnquotedIdentifier, Text: "in" })
            {
                _index++;
                break;
            }

            throw Unexpected(Current);
        }

        Node body = Expression(0);
        return Made(new LetNode(letToken.Offset, [.. names], [.. values], body));
    }
}
