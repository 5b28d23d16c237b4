using System.Runtime.CompilerServices;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>A compiled node: evaluates against the current value.</summary>
internal delegate JValue Evaluator(in JValue current, ref EvalContext context);

/// <summary>The body of an expression reference (<c>&amp;expr</c>), as functions receive it.</summary>
/// <param name="Body">The compiled body, evaluated against each element the function chooses.</param>
/// <param name="Offset">Where the reference starts, for error carets.</param>
internal sealed record ExpressionRef(Evaluator Body, int Offset);

/// <summary>
/// The state of one evaluation: the input document, the variable slots of <c>let</c>, and the budgets. Lives on the
/// evaluating thread's stack and is passed by reference, so an evaluation allocates nothing for it.
/// </summary>
internal struct EvalContext
{
    public readonly JValue Root;
    public readonly JValue[]? Slots;
    public readonly string Source;
    private readonly long _maxSteps;
    private readonly long _maxBuilt;
    private readonly int _maxStringLength;
    private long _steps;
    private long _built;

    public EvalContext(JValue root, int slotCount, string source, ExpressionPolicy policy)
        : this(root, slotCount == 0 ? null : new JValue[slotCount], source, policy)
    {
    }

    /// <summary>A context over given slots: the members of an expression set share one array, filled with their shared lookups.</summary>
    public EvalContext(JValue root, JValue[]? slots, string source, ExpressionPolicy policy)
    {
        Root = root;
        Slots = slots;
        Source = source;
        _maxSteps = policy.MaxSteps;
        _maxBuilt = policy.MaxResultSize;
        _maxStringLength = policy.MaxStringLength;
    }

    public readonly long StepsUsed => _steps;

    /// <summary>Charges one step of work done at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(int offset)
    {
        if (++_steps > _maxSteps)
        {
            ThrowSteps(offset);
        }
    }

    /// <summary>Charges <paramref name="count"/> steps of work done at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Steps(long count, int offset)
    {
        _steps += count;
        if (_steps > _maxSteps)
        {
            ThrowSteps(offset);
        }
    }

    /// <summary>Charges <paramref name="count"/> values about to be built (array items, object members).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Build(long count, int offset)
    {
        _built += count;
        if (_built > _maxBuilt)
        {
            throw Error(ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.ResultBudget, _maxBuilt), offset);
        }
    }

    /// <summary>Whether a string of <paramref name="length"/> characters is within the limit.</summary>
    public readonly bool StringFits(long length) => length <= _maxStringLength;

    /// <summary>The work charged so far, to put back with <see cref="RestoreCharges"/> when a fast path hands over to the general one.</summary>
    public readonly Charges SaveCharges() => new(_steps, _built);

    /// <summary>Puts the charges back to what <see cref="SaveCharges"/> saw.</summary>
    public void RestoreCharges(Charges saved)
    {
        _steps = saved.Steps;
        _built = saved.Built;
    }

    /// <summary>Checks the length of a string about to be built.</summary>
    public readonly void CheckString(long length, int offset)
    {
        if (length > _maxStringLength)
        {
            throw Error(ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.StringBudget, _maxStringLength), offset);
        }
    }

    /// <summary>JMESPath equality, charged to the step budget (deep values cost one step per value compared).</summary>
    public bool Equal(in JValue a, in JValue b, int offset)
    {
        long budget = _maxSteps - _steps;
        try
        {
            bool equal = JsonText.Equal(a, b, ref budget);
            _steps = _maxSteps - budget;
            return equal;
        }
        catch (WalkLimitException e)
        {
            throw WalkError(e, offset);
        }
    }

    /// <summary>Compact JSON text of a value, charged to the step budget and checked against the string limit.</summary>
    public string ToJson(in JValue value, int offset)
    {
        long budget = _maxSteps - _steps;
        try
        {
            string json = JsonText.ToJson(value, ref budget);
            _steps = _maxSteps - budget;
            CheckString(json.Length, offset);
            return json;
        }
        catch (WalkLimitException e)
        {
            throw WalkError(e, offset);
        }
    }

    private readonly ExpressionException WalkError(WalkLimitException e, int offset) =>
        InternalFailures.ToCoded(e, Source, ErrorMessages.Format(ErrorMessages.StepBudget, _maxSteps), offset);

    public readonly ExpressionException Error(ExpressionErrorKind kind, string detail, int offset) => new(kind, detail, Source, offset);

    /// <summary>Saved charges: steps and built values.</summary>
    internal readonly record struct Charges(long Steps, long Built);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void ThrowSteps(int offset) =>
        throw Error(ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.StepBudget, _maxSteps), offset);
}
