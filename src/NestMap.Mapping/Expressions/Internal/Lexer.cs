using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Turns an expression into tokens, all at once; every error names the offset of the character at fault.</summary>
/// <remarks>Not thread-safe; one instance per compilation.</remarks>
internal sealed class Lexer
{
    private static readonly JsonDocumentOptions s_literalOptions = new() { MaxDepth = 64 };

    private readonly string _text;
    private readonly int _end;
    private readonly bool _legacyLiterals;
    private readonly List<JsonDocument> _documents;
    private readonly List<Token> _tokens = [];
    private int _pos;

    private Lexer(string text, int start, int end, bool legacyLiterals, List<JsonDocument> documents)
    {
        _text = text;
        _pos = start;
        _end = end;
        _legacyLiterals = legacyLiterals;
        _documents = documents;
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/>[<paramref name="start"/>..<paramref name="end"/>] (offsets stay relative to the
    /// whole text, so that carets point into it); JSON literals are parsed into documents added to <paramref name="documents"/>.
    /// </summary>
    public static List<Token> Tokenize(string text, int start, int end, bool legacyLiterals, List<JsonDocument> documents)
    {
        var lexer = new Lexer(text, start, end, legacyLiterals, documents);
        lexer.Run();
        return lexer._tokens;
    }

    private ExpressionException Error(string detail, int offset) => new(ExpressionErrorKind.Syntax, detail, _text, offset);

    private void Add(TokenKind kind, int start, int length, string? text = null)
    {
        _tokens.Add(new Token(kind, start, text));
        _pos = start + length;
    }

    private char Peek(int ahead) => _pos + ahead < _end ? _text[_pos + ahead] : '\0';

    private void Run()
    {
        while (_pos < _end)
        {
            char c = _text[_pos];
            int start = _pos;
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    _pos++;
                    break;
                case '.': Add(TokenKind.Dot, start, 1); break;
                case '*': Add(TokenKind.Star, start, 1); break;
                case ']': Add(TokenKind.RBracket, start, 1); break;
                case '{': Add(TokenKind.LBrace, start, 1); break;
                case '}': Add(TokenKind.RBrace, start, 1); break;
                case '(': Add(TokenKind.LParen, start, 1); break;
                case ')': Add(TokenKind.RParen, start, 1); break;
                case ',': Add(TokenKind.Comma, start, 1); break;
                case ':': Add(TokenKind.Colon, start, 1); break;
                case '@': Add(TokenKind.Current, start, 1); break;
                case '+': Add(TokenKind.Plus, start, 1); break;
                case '%': Add(TokenKind.Modulo, start, 1); break;
                case '\u2212': Add(TokenKind.Minus, start, 1); break;
                case '\u00D7': Add(TokenKind.Multiply, start, 1); break;
                case '\u00F7': Add(TokenKind.Divide, start, 1); break;
                case '[':
                    if (Peek(1) == ']')
                    {
                        Add(TokenKind.Flatten, start, 2);
                    }
                    else if (Peek(1) == '?')
                    {
                        Add(TokenKind.Filter, start, 2);
                    }
                    else
                    {
                        Add(TokenKind.LBracket, start, 1);
                    }

                    break;
                case '|': Two('|', TokenKind.Or, TokenKind.Pipe, start); break;
                case '&': Two('&', TokenKind.And, TokenKind.Expref, start); break;
                case '!': Two('=', TokenKind.Ne, TokenKind.Not, start); break;
                case '<': Two('=', TokenKind.Lte, TokenKind.Lt, start); break;
                case '>': Two('=', TokenKind.Gte, TokenKind.Gt, start); break;
                case '=': Two('=', TokenKind.Eq, TokenKind.Assign, start); break;
                case '/': Two('/', TokenKind.IntDivide, TokenKind.Divide, start); break;
                case '?': Two('?', TokenKind.Coalesce, TokenKind.Question, start); break;
                case '-':
                    if (char.IsAsciiDigit(Peek(1)) && PreviousAllowsNumber())
                    {
                        LexNumber(start);
                    }
                    else
                    {
                        Add(TokenKind.Minus, start, 1);
                    }

                    break;
                case '$':
                    if (IsIdentifierStart(Peek(1)))
                    {
                        _pos++;
                        string name = ReadUnquoted();
                        _tokens.Add(new Token(TokenKind.Variable, start, name));
                    }
                    else
                    {
                        Add(TokenKind.Root, start, 1);
                    }

                    break;
                case '"':
                    _tokens.Add(new Token(TokenKind.QuotedIdentifier, start, ReadJsonString(start)));
                    break;
                case '\'':
                    {
                        // The value is kept as a JSON element too, so that comparing it with input strings (the common
                        // case: filters, contains) is a byte comparison, with nothing decoded or allocated.
                        string text = ReadRawString(start);
                        string json = "\"" + JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value + "\"";
                        _tokens.Add(new Token(TokenKind.RawString, start, text, Literal: TryParseJson(json, out JValue value) ? value : JValue.FromString(text)));
                        break;
                    }

                case '`':
                    _tokens.Add(new Token(TokenKind.Literal, start, Literal: ReadLiteral(start)));
                    break;
                default:
                    if (IsIdentifierStart(c))
                    {
                        _tokens.Add(new Token(TokenKind.UnquotedIdentifier, start, ReadUnquoted()));
                    }
                    else if (char.IsAsciiDigit(c))
                    {
                        LexNumber(start);
                    }
                    else
                    {
                        throw Error(ErrorMessages.Format(ErrorMessages.UnexpectedCharacter, Describe(_text, start)), start);
                    }

                    break;
            }
        }

        _tokens.Add(new Token(TokenKind.Eof, _end));
    }

    /// <summary>A '-' starts a negative number only where numbers are expected: in an index or a slice.</summary>
    private bool PreviousAllowsNumber() =>
        _tokens.Count > 0 && _tokens[^1].Kind is TokenKind.LBracket or TokenKind.Colon;

    private void Two(char second, TokenKind pair, TokenKind single, int start)
    {
        if (Peek(1) == second)
        {
            Add(pair, start, 2);
        }
        else
        {
            Add(single, start, 1);
        }
    }

    internal static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private string ReadUnquoted()
    {
        int start = _pos;
        while (_pos < _end && IsIdentifierPart(_text[_pos]))
        {
            _pos++;
        }

        return _text[start.._pos];
    }

    private void LexNumber(int start)
    {
        _pos = start + 1;
        while (_pos < _end && char.IsAsciiDigit(_text[_pos]))
        {
            _pos++;
        }

        if (!int.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            throw Error(ErrorMessages.NumberTooLarge, start);
        }

        _tokens.Add(new Token(TokenKind.Number, start, Number: value));
    }

    /// <summary>The text of a quoted identifier or raw string; a lone surrogate (written as such or as a \u escape) is a syntax error.</summary>
    private string Text(StringBuilder value, int start)
    {
        string text = value.ToString();
        return JsonText.HasLoneSurrogate(text) ? throw Error(ErrorMessages.LoneSurrogate, start) : text;
    }

    /// <summary>Reads a double-quoted identifier with JSON string escapes.</summary>
    private string ReadJsonString(int start)
    {
        var value = new StringBuilder();
        _pos = start + 1;
        while (true)
        {
            if (_pos >= _end)
            {
                throw Error(ErrorMessages.UnterminatedQuotedIdentifier, start);
            }

            char c = _text[_pos];
            if (c == '"')
            {
                _pos++;
                return Text(value, start);
            }

            if (c < ' ')
            {
                throw Error(ErrorMessages.ControlCharacterInString, _pos);
            }

            if (c != '\\')
            {
                value.Append(c);
                _pos++;
                continue;
            }

            char e = Peek(1);
            switch (e)
            {
                case '"' or '\\' or '/': value.Append(e); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'n': value.Append('\n'); break;
                case 'r': value.Append('\r'); break;
                case 't': value.Append('\t'); break;
                case 'u':
                    if (_pos + 6 > _end
                        || !ushort.TryParse(_text.AsSpan(_pos + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code))
                    {
                        throw Error(ErrorMessages.InvalidUnicodeEscape, _pos);
                    }

                    value.Append((char)code);
                    _pos += 4;
                    break;
                default:
                    throw Error(ErrorMessages.InvalidEscape, _pos);
            }

            _pos += 2;
        }
    }

    /// <summary>Reads a raw string: only \' and \\ are escapes; any other backslash stays as it is.</summary>
    private string ReadRawString(int start)
    {
        var value = new StringBuilder();
        _pos = start + 1;
        while (true)
        {
            if (_pos >= _end)
            {
                throw Error(ErrorMessages.UnterminatedRawString, start);
            }

            char c = _text[_pos];
            if (c == '\'')
            {
                _pos++;
                return Text(value, start);
            }

            if (c == '\\' && Peek(1) is '\'' or '\\')
            {
                value.Append(Peek(1));
                _pos += 2;
                continue;
            }

            value.Append(c);
            _pos++;
        }
    }

    /// <summary>Reads a JSON literal between backticks, where \` stands for a backtick.</summary>
    private JValue ReadLiteral(int start)
    {
        var json = new StringBuilder();
        _pos = start + 1;
        while (true)
        {
            if (_pos >= _end)
            {
                throw Error(ErrorMessages.UnterminatedLiteral, start);
            }

            char c = _text[_pos];
            if (c == '`')
            {
                _pos++;
                break;
            }

            if (c == '\\' && _pos + 1 < _end)
            {
                // A backslash takes the next character with it: \` is a backtick, any other pair stays for the JSON parser.
                char next = _text[_pos + 1];
                if (next != '`')
                {
                    json.Append('\\');
                }

                json.Append(next);
                _pos += 2;
                continue;
            }

            json.Append(c);
            _pos++;
        }

        string content = json.ToString();
        if (TryParseJson(content, out JValue value))
        {
            return value;
        }

        // The legacy form (deprecated by JEP-12, off unless the policy asks for it): text that is not JSON is a string.
        if (_legacyLiterals && TryParseJson("\"" + content.TrimStart(' ', '\t', '\n', '\r') + "\"", out value))
        {
            return value;
        }

        throw Error(ErrorMessages.InvalidJsonLiteral, start);
    }

    private bool TryParseJson(string json, out JValue value)
    {
        try
        {
            JsonDocument document = JsonDocument.Parse(json, s_literalOptions);
            _documents.Add(document);
            value = JValue.FromElement(document.RootElement);
            return true;
        }
        catch (JsonException)
        {
            value = default;
            return false;
        }
    }

    /// <summary>Names a character so that invisible or odd ones can be told apart in a message.</summary>
    internal static string Describe(string text, int offset)
    {
        int code = CodePointAt(text, offset);
        string shown = code < 0x20 || code == 0x7F ? string.Empty : "'" + char.ConvertFromUtf32(code) + "' ";
        return shown + "U+" + code.ToString("X4", CultureInfo.InvariantCulture);
    }

    /// <summary>The code point at <paramref name="index"/>, or U+FFFD for a lone surrogate.</summary>
    internal static int CodePointAt(string text, int index) =>
        char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1])
            ? char.ConvertToUtf32(text[index], text[index + 1])
            : char.IsSurrogate(text[index]) ? 0xFFFD : text[index];
}
