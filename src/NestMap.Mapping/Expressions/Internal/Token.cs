namespace NestMap.Mapping.Expressions.Internal;

/// <summary>The kinds of token the lexer produces.</summary>
internal enum TokenKind : byte
{
    Eof,
    UnquotedIdentifier,
    QuotedIdentifier,
    RawString,
    Literal,
    Number,
    Variable,
    Dot,
    Star,
    LBracket,
    RBracket,
    Flatten,
    Filter,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Colon,
    Pipe,
    Or,
    And,
    Coalesce,
    Expref,
    Not,
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
    Ne,
    Current,
    Root,
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
    IntDivide,
    Question,
    Assign,
}

/// <summary>A token: its kind, where it starts in the expression, and its text or value where it has one.</summary>
/// <param name="Kind">What the token is.</param>
/// <param name="Offset">Index of its first character in the expression.</param>
/// <param name="Text">The identifier, string or variable name, when the token carries one.</param>
/// <param name="Number">The value of a number token.</param>
/// <param name="Literal">The parsed value of a JSON literal.</param>
internal readonly record struct Token(TokenKind Kind, int Offset, string? Text = null, int Number = 0, JValue Literal = default);
