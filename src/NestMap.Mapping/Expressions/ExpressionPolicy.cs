namespace NestMap.Mapping.Expressions;

/// <summary>
/// The sandbox an expression is compiled and evaluated in: which input fields and functions it may use, and how large
/// and costly it may be.
/// </summary>
/// <remarks>
/// <para>
/// Violations found by looking at the expression (a root or function not allowed, a path too deep, an expression too
/// long, too large or too deeply nested) are compile errors of kind <see cref="ExpressionErrorKind.Policy"/> or
/// <see cref="ExpressionErrorKind.Limit"/>. The budgets that depend on the input (<see cref="MaxSteps"/>,
/// <see cref="MaxResultSize"/>, <see cref="MaxStringLength"/>) are checked while evaluating and raise
/// <see cref="ExpressionErrorKind.Limit"/> errors. Whatever the policy, an expression sees JSON values only: there is no
/// reflection, no host object and no I/O, and names such as <c>__proto__</c> or <c>GetType</c> are plain field names.
/// </para>
/// <para>Immutable once built (init-only properties); safe to share between threads and compilations.</para>
/// </remarks>
public sealed class ExpressionPolicy
{
    /// <summary>The largest <see cref="MaxNestingDepth"/> accepted: deeper trees could exhaust a thread's stack.</summary>
    public const int NestingDepthCeiling = 1000;

    /// <summary>The policy used when none is given: every built-in function, any root, and the default limits.</summary>
    public static ExpressionPolicy Default { get; } = new();

    /// <summary>Gets the top-level input fields an expression may start from, or <see langword="null"/> for any.</summary>
    /// <value>Default <see langword="null"/>. When set, every selection from the input must name one of these fields
    /// (<c>order.id</c>, <c>$.user.name</c>); expressions that use the whole input (<c>@</c> or <c>$</c> alone,
    /// <c>*</c>, <c>keys(@)</c>) are refused at compile time.</value>
    public IReadOnlyCollection<string>? AllowedRoots { get; init; }

    /// <summary>Gets the built-in functions an expression may call, or <see langword="null"/> for all of them.</summary>
    /// <value>Default <see langword="null"/> (every built-in function; they are all pure).</value>
    public IReadOnlyCollection<string>? AllowedFunctions { get; init; }

    /// <summary>Gets the longest chain of selections (fields, indexes, slices, wildcards, flattens, filters) allowed.</summary>
    /// <value>Default 5: <c>order.items[0].sku</c> is 4 selections deep.</value>
    public int MaxPathDepth { get; init; } = 5;

    /// <summary>Gets the longest expression accepted, in UTF-16 code units.</summary>
    /// <value>Default 8,192.</value>
    public int MaxExpressionLength { get; init; } = 8192;

    /// <summary>Gets the most syntax-tree nodes an expression may have.</summary>
    /// <value>Default 2,000.</value>
    public int MaxNodes { get; init; } = 2000;

    /// <summary>Gets how deeply expressions may nest (parentheses, brackets, operator chains), at most <see cref="NestingDepthCeiling"/>.</summary>
    /// <value>Default 128.</value>
    public int MaxNestingDepth { get; init; } = 128;

    /// <summary>Gets the evaluation budget: roughly one step per node evaluated and per element a projection, filter or function visits.</summary>
    /// <value>Default 1,000,000.</value>
    public long MaxSteps { get; init; } = 1_000_000;

    /// <summary>Gets the most values (array items and object members) one evaluation may build.</summary>
    /// <value>Default 1,000,000. Values selected from the input are not copied and do not count.</value>
    public long MaxResultSize { get; init; } = 1_000_000;

    /// <summary>Gets the longest string one evaluation may build (by <c>join</c>, <c>pad_left</c>, <c>replace</c>, <c>to_string</c>...).</summary>
    /// <value>Default 1,048,576 UTF-16 code units.</value>
    public int MaxStringLength { get; init; } = 1 << 20;

    /// <summary>Gets whether a backtick literal that is not JSON is read as a string (<c>`foo`</c> as <c>"foo"</c>), as before JEP-12.</summary>
    /// <value>Default <see langword="false"/>: the current specification makes such literals syntax errors.</value>
    public bool AllowLegacyLiterals { get; init; }

    /// <summary>Checks that the settings are usable.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPathDepth, 1, nameof(MaxPathDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxExpressionLength, 1, nameof(MaxExpressionLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNodes, 1, nameof(MaxNodes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNestingDepth, 1, nameof(MaxNestingDepth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxNestingDepth, NestingDepthCeiling, nameof(MaxNestingDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSteps, 1, nameof(MaxSteps));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxResultSize, 1, nameof(MaxResultSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxStringLength, 1, nameof(MaxStringLength));
    }
}
