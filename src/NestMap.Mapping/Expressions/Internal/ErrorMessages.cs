namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Every error message of the expression engine, in one place; tests assert against these constants.</summary>
internal static class ErrorMessages
{
    /// <summary>Fills a message's placeholders; used on error paths only, where caching a CompositeFormat buys nothing.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1863:Use 'CompositeFormat'", Justification = "Error paths only.")]
    public static string Format(string message, params object?[] args) => string.Format(System.Globalization.CultureInfo.InvariantCulture, message, args);

    // Lexer.
    public const string UnexpectedCharacter = "unexpected character {0}";
    public const string NumberTooLarge = "number out of range";
    public const string UnterminatedQuotedIdentifier = "unterminated quoted identifier: a closing '\"' is missing";
    public const string UnterminatedRawString = "unterminated raw string: a closing \"'\" is missing";
    public const string UnterminatedLiteral = "unterminated literal: a closing '`' is missing";
    public const string ControlCharacterInString = "control character in a quoted identifier; escape it";
    public const string InvalidEscape = "invalid escape sequence in a quoted identifier";
    public const string InvalidUnicodeEscape = "invalid \\u escape: four hexadecimal digits expected";
    public const string LoneSurrogate = "a lone surrogate (U+D800 to U+DFFF not in a pair) is not text";
    public const string InvalidJsonLiteral = "invalid JSON in a `literal`; a string literal is written '...' or `\"...\"`";

    // Parser.
    public const string UnexpectedEnd = "unexpected end of expression";
    public const string UnexpectedToken = "unexpected {0}";
    public const string QuotedFunctionName = "a function name cannot be quoted";
    public const string FunctionNameExpected = "only a plain name can be called as a function";
    public const string HashKeyExpected = "a key (an identifier) is expected in a multi-select hash";
    public const string SliceStepZero = "the step of a slice cannot be 0";
    public const string TooDeep = "the expression nests deeper than {0} levels";
    public const string TooManyNodes = "the expression has more than {0} nodes";
    public const string TooLong = "the expression is longer than {0} characters";

    // Compiler and policy.
    public const string UnknownFunction = "unknown function '{0}'";
    public const string Arity = "function '{0}' takes {1} argument(s), {2} given";
    public const string FunctionNotAllowed = "function '{0}' is not allowed by the policy";
    public const string RootNotAllowed = "the input field '{0}' is not among the allowed roots ({1})";
    public const string WholeInputNotAllowed = "with allowed roots, the expression must select a named input field; '{0}' uses the whole input";
    public const string PathTooDeep = "the path selects {0} levels deep; the policy allows {1}";

    // Evaluation.
    public const string ArgumentType = "function '{0}' expects argument {1} to be {2}, got {3}";
    public const string OperandType = "operator '{0}' expects numbers, got {1} and {2}";
    public const string UnaryOperandType = "operator '{0}' expects a number, got {1}";
    public const string NotANumber = "arithmetic result is not a finite number ({0})";
    public const string UndefinedVariable = "undefined variable '${0}'";
    public const string StepBudget = "evaluation exceeded its budget of {0} steps";
    public const string ResultBudget = "evaluation built more than {0} values";
    public const string StringBudget = "evaluation built a string longer than {0} characters";
    public const string ValueTooDeep = "a value nests deeper than {0} levels";
    public const string PadArguments = "function '{0}' needs a width of 0 or more and a pad of exactly one character";
    public const string KeyType = "function '{0}' expects its expression to yield {1}, got {2}";
    public const string IntegerExpected = "function '{0}' expects an integer here, got {1}";
    public const string StackExhausted = "the thread ran out of stack for an expression this deep; lower the nesting or run it on a thread with a larger stack";
    public const string UnterminatedPlaceholder = "unterminated placeholder: '{{' without a closing '}}'";
    public const string NonNegativeExpected = "function '{0}' expects an integer of 0 or more here, got {1}";
    public const string FunctionNotANumber = "function '{0}' gives a result that is not a finite number ({1})";
    public const string InvalidText = "a string in the input or a literal holds a lone surrogate escape (\\uD800 to \\uDFFF not in a pair)";
    public const string ExpressionAsValue = "an expression reference (&expr) can only be a function argument";
}
