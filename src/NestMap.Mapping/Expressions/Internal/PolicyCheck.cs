using System.Runtime.CompilerServices;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// The compile-time half of the sandbox: functions exist, are called with the right number of arguments and are
/// allowed; selections from the input start at allowed roots; paths are not deeper than allowed.
/// </summary>
/// <remarks>
/// Recursion follows the tree, whose height the parser has already bounded. Stateless apart from its inputs; one
/// instance per compilation.
/// </remarks>
internal sealed class PolicyCheck
{
    private readonly string _source;
    private readonly ExpressionPolicy _policy;
    private readonly HashSet<string>? _roots;
    private readonly HashSet<string>? _functions;

    private PolicyCheck(string source, ExpressionPolicy policy)
    {
        _source = source;
        _policy = policy;
        _roots = policy.AllowedRoots is null ? null : new HashSet<string>(policy.AllowedRoots, StringComparer.Ordinal);
        _functions = policy.AllowedFunctions is null ? null : new HashSet<string>(policy.AllowedFunctions, StringComparer.Ordinal);
    }

    public static void Run(Node root, string source, ExpressionPolicy policy)
    {
        var check = new PolicyCheck(source, policy);
        check.Functions(root);
        if (check._roots is not null)
        {
            check.Roots(root, atRoot: true);
        }

        int depth = PathDepth(root);
        if (depth > policy.MaxPathDepth)
        {
            throw new ExpressionException(
                ExpressionErrorKind.Policy,
                ErrorMessages.Format(ErrorMessages.PathTooDeep, depth, policy.MaxPathDepth),
                source,
                DeepestSelection(root, policy.MaxPathDepth));
        }
    }

    private ExpressionException Error(ExpressionErrorKind kind, string detail, int offset) => new(kind, detail, _source, offset);

    private void Functions(Node node)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (node is FunctionNode call)
        {
            if (!FunctionTable.All.TryGetValue(call.Name, out FunctionInfo? function))
            {
                string? near = NestMap.Mapping.Internal.Spelling.Nearest(call.Name, FunctionTable.All.Keys);
                throw Error(
                    ExpressionErrorKind.UnknownFunction,
                    ErrorMessages.Format(ErrorMessages.UnknownFunction, call.Name) + (near is null ? string.Empty : $"; did you mean '{near}'?"),
                    call.Offset);
            }

            if (call.Arguments.Length < function.MinArgs || call.Arguments.Length > function.MaxArgs)
            {
                throw Error(
                    ExpressionErrorKind.InvalidArity,
                    ErrorMessages.Format(ErrorMessages.Arity, call.Name, function.ArityText, call.Arguments.Length),
                    call.Offset);
            }

            if (_functions is not null && !_functions.Contains(call.Name))
            {
                throw Error(ExpressionErrorKind.Policy, ErrorMessages.Format(ErrorMessages.FunctionNotAllowed, call.Name), call.Offset);
            }
        }

        foreach (Node child in Children(node))
        {
            Functions(child);
        }
    }

    /// <summary>
    /// Checks selections from the input. <paramref name="atRoot"/> says whether the current node is the input itself:
    /// there, a field must be an allowed root, and anything that would hand over the whole input (<c>@</c>, <c>*</c>,
    /// an index, a filter) is refused. The input is reachable elsewhere only as <c>$</c>, which must be followed by an
    /// allowed field. Everything reached through an allowed field is free.
    /// </summary>
    private void Roots(Node node, bool atRoot)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (node)
        {
            case FieldNode field when atRoot:
                CheckRoot(field.Name, field.Offset);
                return;
            case CurrentNode when atRoot:
                throw WholeInput("@", node.Offset);
            case RootNode:
                throw WholeInput("$", node.Offset);
            case IndexNode or SliceNode when atRoot:
                throw WholeInput(_source.Substring(node.Offset, 1), node.Offset);
            case SubexpressionNode sub:
                if (sub.Left is RootNode || (sub.Left is CurrentNode && atRoot))
                {
                    if (sub.Right is not FieldNode field)
                    {
                        throw WholeInput(sub.Left is RootNode ? "$" : "@", sub.Left.Offset);
                    }

                    CheckRoot(field.Name, field.Offset);
                }
                else
                {
                    Roots(sub.Left, atRoot);
                    Roots(sub.Right, atRoot: false);
                }

                return;
            case ProjectionNode p:
                Roots(p.Left, atRoot);
                Roots(p.Right, atRoot: false);
                return;
            case ValueProjectionNode v:
                Roots(v.Left, atRoot);
                Roots(v.Right, atRoot: false);
                return;
            case FilterProjectionNode f:
                Roots(f.Left, atRoot);
                Roots(f.Right, atRoot: false);
                Roots(f.Condition, atRoot: false);
                return;
            case PipeNode pipe:
                Roots(pipe.Left, atRoot);
                Roots(pipe.Right, atRoot: false);
                return;
            case ExpressionRefNode reference:
                // The function applies the body to values it got from its other arguments, which are checked.
                Roots(reference.Body, atRoot: false);
                return;
            default:
                foreach (Node child in Children(node))
                {
                    Roots(child, atRoot);
                }

                return;
        }
    }

    private void CheckRoot(string name, int offset)
    {
        if (!_roots!.Contains(name))
        {
            throw Error(
                ExpressionErrorKind.Policy,
                ErrorMessages.Format(ErrorMessages.RootNotAllowed, name, string.Join(", ", _roots.Order(StringComparer.Ordinal))),
                offset);
        }
    }

    private ExpressionException WholeInput(string what, int offset) =>
        Error(ExpressionErrorKind.Policy, ErrorMessages.Format(ErrorMessages.WholeInputNotAllowed, what), offset);

    /// <summary>
    /// The longest chain of field, index and slice selections: they add up along sub-expressions, projections and
    /// pipes (each step goes one level further into the value); elsewhere the deepest branch counts.
    /// </summary>
    internal static int PathDepth(Node node) => RuntimeHelpers.TryEnsureSufficientExecutionStack() ? PathDepthCore(node) : throw new InsufficientExecutionStackException();

    private static int PathDepthCore(Node node) => node switch
    {
        FieldNode or IndexNode or SliceNode => 1,
        SubexpressionNode s => PathDepth(s.Left) + PathDepth(s.Right),
        ProjectionNode p => PathDepth(p.Left) + PathDepth(p.Right),
        ValueProjectionNode v => PathDepth(v.Left) + PathDepth(v.Right),
        FilterProjectionNode f => PathDepth(f.Left) + Math.Max(PathDepth(f.Right), PathDepth(f.Condition)),
        PipeNode p => PathDepth(p.Left) + PathDepth(p.Right),
        _ => Children(node).Select(PathDepth).DefaultIfEmpty(0).Max(),
    };

    /// <summary>Where the path first goes beyond <paramref name="limit"/>, for the caret.</summary>
    private static int DeepestSelection(Node node, int limit)
    {
        // Walk down the heaviest branch; the caret goes under the node at which the depth budget runs out.
        while (true)
        {
            switch (node)
            {
                case SubexpressionNode s when PathDepth(s.Left) > limit:
                    node = s.Left;
                    continue;
                case SubexpressionNode s:
                    return s.Right.Offset;
                default:
                    Node? next = Children(node).OrderByDescending(PathDepth).FirstOrDefault();
                    if (next is null || PathDepth(next) <= limit)
                    {
                        return node.Offset;
                    }

                    node = next;
                    continue;
            }
        }
    }

    /// <summary>The children of a node, in source order.</summary>
    internal static IEnumerable<Node> Children(Node node) => node switch
    {
        SubexpressionNode s => [s.Left, s.Right],
        ProjectionNode p => [p.Left, p.Right],
        ValueProjectionNode v => [v.Left, v.Right],
        FilterProjectionNode f => [f.Left, f.Condition, f.Right],
        FlattenNode f => [f.Inner],
        PipeNode p => [p.Left, p.Right],
        BinaryNode b => [b.Left, b.Right],
        UnaryNode u => [u.Operand],
        TernaryNode t => [t.Condition, t.Then, t.Else],
        MultiSelectListNode l => l.Items,
        MultiSelectHashNode h => h.Values,
        FunctionNode f => f.Arguments,
        ExpressionRefNode e => [e.Body],
        LetNode l => [.. l.Values, l.Body],
        _ => [],
    };
}
