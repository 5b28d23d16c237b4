using System.Text.Json;
using NestMap.Mapping.Expressions.Ast;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>
/// Compiles JMESPath expressions (community edition: <c>$</c>, <c>let</c>, arithmetic, the ternary, string functions,
/// <c>group_by</c>) for evaluation over System.Text.Json documents, inside a sandbox.
/// </summary>
/// <remarks>
/// <para>Two extensions, off the standard: <c>a ?? b</c> falls back to <c>b</c> only when <c>a</c> is missing (where
/// <c>||</c> falls back on any false value, including <c>""</c>, <c>[]</c> and <c>false</c>), and templates
/// (<see cref="CompileTemplate"/>) interpolate expressions into text.</para>
/// <para>Thread-safe: compile from any thread; the results are immutable and can be shared.</para>
/// </remarks>
public static class JmesPath
{
    /// <summary>Compiles an expression.</summary>
    /// <param name="expression">The JMESPath expression.</param>
    /// <param name="policy">The sandbox; <see langword="null"/> for <see cref="ExpressionPolicy.Default"/>.</param>
    /// <returns>The compiled expression, immutable and reusable from any thread.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="expression"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit of <paramref name="policy"/> is out of range.</exception>
    /// <exception cref="ExpressionException">The expression is invalid (<c>syntax</c>, <c>unknown-function</c>,
    /// <c>invalid-arity</c>, <c>invalid-value</c>), breaks the policy (<c>policy</c>) or exceeds a size limit (<c>limit</c>).</exception>
    public static CompiledExpression Compile(string expression, ExpressionPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(expression);
        policy ??= ExpressionPolicy.Default;
        policy.Validate();
        return CompileRange(expression, 0, expression.Length, policy, expression);
    }

    /// <summary>
    /// Compiles expressions that are evaluated together against the same input, such as the fields of a mapping: each
    /// stays an expression of its own (its own result, errors and budgets), but the leading fields that several of them
    /// start with (<c>order</c> and <c>order.items</c> in <c>order.id</c>, <c>order.items[0].sku</c> and
    /// <c>sum(order.items[].price)</c>) are looked up once per input, as hand-written code would.
    /// </summary>
    /// <param name="expressions">The JMESPath expressions, in the order <see cref="ExpressionSetEvaluation"/> indexes them.</param>
    /// <param name="policy">The sandbox for every expression; <see langword="null"/> for <see cref="ExpressionPolicy.Default"/>.</param>
    /// <returns>The compiled set, immutable and reusable from any thread.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="expressions"/> is null.</exception>
    /// <exception cref="ArgumentException">One of <paramref name="expressions"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit of <paramref name="policy"/> is out of range.</exception>
    /// <exception cref="ExpressionException">The first expression that does not compile, with the error
    /// <see cref="Compile"/> would give for it (its <see cref="ExpressionException.Expression"/> says which).</exception>
    public static CompiledExpressionSet CompileSet(IEnumerable<string> expressions, ExpressionPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(expressions);
        string[] texts = [.. expressions];
        for (int i = 0; i < texts.Length; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"The expression at index {i} is null.", nameof(expressions));
            }
        }

        policy ??= ExpressionPolicy.Default;
        policy.Validate();
        var roots = new Node[texts.Length];
        var literals = new List<JsonDocument>[texts.Length];
        try
        {
            for (int i = 0; i < texts.Length; i++)
            {
                literals[i] = [];
                roots[i] = ParseChecked(texts[i], 0, texts[i].Length, policy, literals[i]);
            }

            Compiler.SetPlan? plan = null;
            try
            {
                plan = Compiler.CompileSet(roots);
            }
            catch (InsufficientExecutionStackException)
            {
                // Handled below, off this handler's frames (it runs on top of the frames that ran out of stack).
            }

            if (plan is null)
            {
                // Too deep to compile together on this thread: each member compiled alone, sharing nothing. A member
                // too deep alone throws its own limit error, so the error names the member it belongs to.
                foreach (List<JsonDocument> documents in literals)
                {
                    Dispose(documents);
                    documents.Clear();
                }

                return CompileMembersAlone(texts, policy);
            }

            var members = new CompiledExpression[texts.Length];
            for (int i = 0; i < texts.Length; i++)
            {
                members[i] = new CompiledExpression(texts[i], policy, plan.Evaluators[i], plan.Writers[i], plan.Slots, [.. literals[i]]);
            }

            return new CompiledExpressionSet(members, policy, plan.Lookups, plan.Slots);
        }
        catch
        {
            foreach (List<JsonDocument>? documents in literals)
            {
                if (documents is not null)
                {
                    Dispose(documents);
                }
            }

            throw;
        }
    }

    /// <summary>A set whose members are compiled alone and share no lookups (their variables share the set's slots, in turn).</summary>
    internal static CompiledExpressionSet CompileMembersAlone(string[] texts, ExpressionPolicy policy)
    {
        CompiledExpression[] alone = [.. texts.Select(text => Compile(text, policy))];
        return new CompiledExpressionSet(alone, policy, null, alone.Select(m => m.SlotCount).DefaultIfEmpty().Max());
    }

    /// <summary>
    /// Compiles <paramref name="text"/>[<paramref name="start"/>..<paramref name="end"/>]; errors point into the whole
    /// text (a template's placeholders are compiled in place).
    /// </summary>
    internal static CompiledExpression CompileRange(string text, int start, int end, ExpressionPolicy policy, string expression)
    {
        var documents = new List<JsonDocument>();
        try
        {
            Node root = ParseChecked(text, start, end, policy, documents);
            (Evaluator evaluator, int slots) = Compiler.Compile(root, out Writer? writer);
            return new CompiledExpression(expression, policy, evaluator, writer, slots, [.. documents]);
        }
        catch (InsufficientExecutionStackException)
        {
            Dispose(documents);
            throw new ExpressionException(ExpressionErrorKind.Limit, ErrorMessages.StackExhausted, text, start);
        }
        catch
        {
            Dispose(documents);
            throw;
        }
    }

    /// <summary>Parses and checks against the policy; a parser that runs out of stack is a limit error at <paramref name="start"/>.</summary>
    private static Node ParseChecked(string text, int start, int end, ExpressionPolicy policy, List<JsonDocument> documents)
    {
        try
        {
            Node root = Parse(text, start, end, policy, documents, out _);
            PolicyCheck.Run(root, text, policy);
            return root;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new ExpressionException(ExpressionErrorKind.Limit, ErrorMessages.StackExhausted, text, start);
        }
    }

    /// <summary>Compiles a template: text with <c>{{ expression }}</c> placeholders (a NestMap extension).</summary>
    /// <param name="template">The template, such as <c>Hello {{ user.name }}!</c>. Write <c>\{{</c> for literal braces.</param>
    /// <param name="policy">The sandbox for every placeholder; <see langword="null"/> for <see cref="ExpressionPolicy.Default"/>.</param>
    /// <returns>The compiled template, immutable and reusable from any thread.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="template"/> is null.</exception>
    /// <exception cref="ExpressionException">A placeholder is unterminated or its expression is invalid; positions refer to the template.</exception>
    public static CompiledTemplate CompileTemplate(string template, ExpressionPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        policy ??= ExpressionPolicy.Default;
        policy.Validate();
        if (template.Length > policy.MaxExpressionLength)
        {
            throw TooLong(template, policy);
        }

        return TemplateParser.Parse(template, policy);
    }

    /// <summary>Parses <paramref name="text"/>[<paramref name="start"/>..<paramref name="end"/>] as one expression.</summary>
    internal static Node Parse(string text, int start, int end, ExpressionPolicy policy, List<JsonDocument> documents, out int nodes)
    {
        if (end - start > policy.MaxExpressionLength)
        {
            throw TooLong(text, policy);
        }

        List<Token> tokens = Lexer.Tokenize(text, start, end, policy.AllowLegacyLiterals, documents);
        return Parser.Parse(text, tokens, policy.MaxNestingDepth, policy.MaxNodes, out nodes);
    }

    private static ExpressionException TooLong(string text, ExpressionPolicy policy) =>
        new(ExpressionErrorKind.Limit, ErrorMessages.Format(ErrorMessages.TooLong, policy.MaxExpressionLength), text, policy.MaxExpressionLength);

    private static void Dispose(List<JsonDocument> documents)
    {
        foreach (JsonDocument document in documents)
        {
            document.Dispose();
        }
    }
}
