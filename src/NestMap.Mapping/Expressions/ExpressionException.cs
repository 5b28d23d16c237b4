using System.Text;

namespace NestMap.Mapping.Expressions;

/// <summary>
/// An expression failed to compile or to evaluate: a syntax error, a type error, a sandbox violation or an exhausted budget.
/// </summary>
/// <remarks>
/// The message names the code and the kind, then shows the expression with a caret under the place at fault. Instances
/// are immutable and safe to share between threads.
/// </remarks>
public sealed class ExpressionException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public ExpressionException()
        : this("The expression failed.")
    {
    }

    /// <summary>Initializes a new instance with a message; <see cref="Kind"/> is <see cref="ExpressionErrorKind.Syntax"/>.</summary>
    /// <param name="message">The message.</param>
    public ExpressionException(string message)
        : this(message, null!)
    {
    }

    /// <summary>Initializes a new instance with a message and its cause; <see cref="Kind"/> is <see cref="ExpressionErrorKind.Syntax"/>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ExpressionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message ?? string.Empty;
        Expression = string.Empty;
        Line = 1;
        Column = 1;
    }

    /// <summary>Creates an exception for an error at <paramref name="offset"/> of <paramref name="expression"/>.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="detail">A one-line description, without the expression.</param>
    /// <param name="expression">The expression text.</param>
    /// <param name="offset">Index of the character at fault, from 0; clamped into the expression.</param>
    internal ExpressionException(ExpressionErrorKind kind, string detail, string expression, int offset)
        : base(Format(kind, detail, expression, offset))
    {
        ArgumentNullException.ThrowIfNull(detail);
        ArgumentNullException.ThrowIfNull(expression);
        Kind = kind;
        Detail = detail;
        Expression = expression;
        Offset = Math.Clamp(offset, 0, expression.Length);
        (Line, Column) = Position(expression, Offset);
    }

    /// <summary>What went wrong.</summary>
    public ExpressionErrorKind Kind { get; }

    /// <summary>The JMESPath name of the error: <c>syntax</c>, <c>invalid-type</c>, <c>invalid-arity</c>,
    /// <c>unknown-function</c>, <c>invalid-value</c>, <c>not-a-number</c>, <c>undefined-variable</c>, or NestMap's
    /// <c>policy</c> and <c>limit</c>.</summary>
    public string ErrorType => TypeName(Kind);

    /// <summary>A stable code per kind, from <c>NESTMAP101</c> (syntax) to <c>NESTMAP109</c> (limit).</summary>
    public string Code => CodeOf(Kind);

    /// <summary>The description of the error without the expression and the caret.</summary>
    public string Detail { get; }

    /// <summary>The expression that failed.</summary>
    public string Expression { get; }

    /// <summary>Index of the character at fault in <see cref="Expression"/>, from 0.</summary>
    public int Offset { get; }

    /// <summary>Line of the character at fault, from 1.</summary>
    public int Line { get; }

    /// <summary>Column of the character at fault, from 1 (in UTF-16 code units).</summary>
    public int Column { get; }

    internal static string TypeName(ExpressionErrorKind kind) => kind switch
    {
        ExpressionErrorKind.Syntax => "syntax",
        ExpressionErrorKind.InvalidType => "invalid-type",
        ExpressionErrorKind.InvalidArity => "invalid-arity",
        ExpressionErrorKind.UnknownFunction => "unknown-function",
        ExpressionErrorKind.InvalidValue => "invalid-value",
        ExpressionErrorKind.NotANumber => "not-a-number",
        ExpressionErrorKind.UndefinedVariable => "undefined-variable",
        ExpressionErrorKind.Policy => "policy",
        _ => "limit",
    };

    internal static string CodeOf(ExpressionErrorKind kind) => kind switch
    {
        ExpressionErrorKind.Syntax => "NESTMAP101",
        ExpressionErrorKind.InvalidType => "NESTMAP102",
        ExpressionErrorKind.InvalidArity => "NESTMAP103",
        ExpressionErrorKind.UnknownFunction => "NESTMAP104",
        ExpressionErrorKind.InvalidValue => "NESTMAP105",
        ExpressionErrorKind.NotANumber => "NESTMAP106",
        ExpressionErrorKind.UndefinedVariable => "NESTMAP107",
        ExpressionErrorKind.Policy => "NESTMAP108",
        _ => "NESTMAP109",
    };

    private static (int Line, int Column) Position(string expression, int offset)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (expression[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, offset - lineStart + 1);
    }

    private static string Format(ExpressionErrorKind kind, string detail, string expression, int offset)
    {
        if (expression is null)
        {
            return detail;
        }

        offset = Math.Clamp(offset, 0, expression.Length);
        (int line, int column) = Position(expression, offset);
        var text = new StringBuilder();
        text.Append(CodeOf(kind)).Append(' ').Append(TypeName(kind)).Append(": ").Append(detail)
            .Append(" (line ").Append(line).Append(", column ").Append(column).Append(')');

        // Show the line at fault, shortened around the caret when it is long, with control characters made visible.
        int lineStart = offset == 0 ? 0 : expression.LastIndexOf('\n', offset - 1) + 1;
        int lineEnd = expression.IndexOf('\n', offset);
        if (lineEnd < 0)
        {
            lineEnd = expression.Length;
        }

        const int Window = 60;
        int from = Math.Max(lineStart, offset - Window);
        int to = Math.Min(lineEnd, offset + Window);
        var shown = new StringBuilder();
        if (from > lineStart)
        {
            shown.Append("...");
        }

        int caret = shown.Length + (offset - from);
        for (int i = from; i < to; i++)
        {
            char c = expression[i];
            shown.Append(char.IsControl(c) ? ' ' : c);
        }

        if (to < lineEnd)
        {
            shown.Append("...");
        }

        text.Append('\n').Append("  ").Append(shown).Append('\n').Append("  ").Append(' ', caret).Append('^');
        return text.ToString();
    }
}
