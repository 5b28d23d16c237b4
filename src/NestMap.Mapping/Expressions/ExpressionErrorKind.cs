namespace NestMap.Mapping.Expressions;

/// <summary>The kinds of error an expression can raise; <see cref="ExpressionException.ErrorType"/> gives the JMESPath name.</summary>
public enum ExpressionErrorKind
{
    /// <summary><c>syntax</c>: the expression is not valid JMESPath (code NESTMAP101).</summary>
    Syntax,

    /// <summary><c>invalid-type</c>: a function argument or an operand has the wrong type (code NESTMAP102).</summary>
    InvalidType,

    /// <summary><c>invalid-arity</c>: a function was given the wrong number of arguments (code NESTMAP103).</summary>
    InvalidArity,

    /// <summary><c>unknown-function</c>: no built-in function has that name (code NESTMAP104).</summary>
    UnknownFunction,

    /// <summary><c>invalid-value</c>: a value is of the right type but not acceptable, such as a slice step of 0 (code NESTMAP105).</summary>
    InvalidValue,

    /// <summary><c>not-a-number</c>: arithmetic divided by zero or left the range of numbers (code NESTMAP106).</summary>
    NotANumber,

    /// <summary><c>undefined-variable</c>: a <c>$name</c> is used outside any <c>let</c> that binds it (code NESTMAP107).</summary>
    UndefinedVariable,

    /// <summary><c>policy</c>: the expression does something its <see cref="ExpressionPolicy"/> forbids (code NESTMAP108).</summary>
    Policy,

    /// <summary><c>limit</c>: a size, nesting, step or result budget was exceeded (code NESTMAP109).</summary>
    Limit,
}
