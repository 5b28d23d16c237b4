using System.Text.Json;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>
/// Expressions compiled together by <see cref="JmesPath.CompileSet"/> to be evaluated against the same input, such as
/// the fields of a mapping, with the leading field lookups they have in common done once per input.
/// </summary>
/// <remarks>
/// <para>Start with <see cref="Evaluate"/> for each input, then evaluate the members you need from the
/// <see cref="ExpressionSetEvaluation"/> it returns. Each member gives exactly what the same expression compiled alone
/// with <see cref="JmesPath.Compile"/> gives: its value, its errors (a member's failure does not affect the others) and
/// its own step and size budgets from <see cref="Policy"/>.</para>
/// <para>Immutable and thread-safe: evaluate it from any number of threads at once, each with its own
/// <see cref="ExpressionSetEvaluation"/>.</para>
/// </remarks>
public sealed class CompiledExpressionSet
{
    private readonly CompiledExpression[] _members;
    private readonly Compiler.SharedLookup[]? _lookups;
    private readonly int _slots;
    private readonly IReadOnlyList<string> _expressions;

    internal CompiledExpressionSet(CompiledExpression[] members, ExpressionPolicy policy, Compiler.SharedLookup[]? lookups, int slots)
    {
        _members = members;
        _lookups = lookups;
        _slots = slots;
        _expressions = Array.AsReadOnly(members.Select(m => m.Expression).ToArray());
        Policy = policy;
    }

    /// <summary>Gets the number of expressions in the set.</summary>
    public int Count => _members.Length;

    /// <summary>Gets the expression texts, in the order the members are indexed.</summary>
    public IReadOnlyList<string> Expressions => _expressions;

    /// <summary>Gets the policy every member was compiled with, which also bounds each member's evaluation.</summary>
    public ExpressionPolicy Policy { get; }

    /// <summary>How many leading field chains the members share (each looked up once per input).</summary>
    internal int SharedLookups => _lookups?.Length ?? 0;

    /// <summary>Starts evaluating the set against an input: looks up the shared leading fields.</summary>
    /// <param name="input">The input document; keep it alive (undisposed) while you use the evaluation and its values.</param>
    /// <returns>The evaluation, from which each member is evaluated; use it on this thread only.</returns>
    /// <remarks>Never throws for the input: a lookup that fails (a member name with a lone surrogate escape cannot be
    /// compared) fails only in the members that reach it, when they are evaluated, with the error they give alone.</remarks>
    public ExpressionSetEvaluation Evaluate(JsonElement input)
    {
        JValue root = JValue.FromElement(input);
        JValue[]? slots = _slots == 0 ? null : new JValue[_slots];
        if (_lookups is not null)
        {
            // Field lookups charge no steps: each member charges its own, as it would alone.
            Compiler.LookUpShared(_lookups, root, slots!);
        }

        return new ExpressionSetEvaluation(this, root, slots);
    }

    /// <summary>The member at <paramref name="index"/>, checked.</summary>
    internal CompiledExpression Member(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _members.Length);
        return _members[index];
    }
}
