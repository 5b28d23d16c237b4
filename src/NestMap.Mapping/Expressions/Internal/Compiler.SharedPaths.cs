using System.Runtime.CompilerServices;
using System.Text;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

// Shared navigation in multi-selects. A mapping written as a hash ({id: order.id, total: sum(order.items[].price),
// first: order.items[0].sku, ...}) names the same leading fields in many of its values; each would look them up again
// (JsonElement.TryGetProperty scans the object's members), where hand-written code looks `order` and `order.items` up
// once. So a multi-select looks up each leading field chain that two or more of its values start with once per
// evaluation, into variable slots (as `let` does), and those values continue from the slot.
//
// Only paths evaluated against the multi-select's own current value qualify: the analysis descends only into children
// evaluated against the same value (the left side of a sub-expression, projection, filter or pipe; operands; function
// arguments other than &expressions; nested multi-selects; let bindings and bodies), never into what runs per element
// or on a left side's result. It registers the exact path nodes it found, so nothing else is rewritten. Field lookups
// charge no steps, so looking them up first changes no result or charge: a chain's value in its slot is the value the
// path would have reached at that point, missing and null included. A lookup can fail (a member name in the input
// with a lone surrogate escape cannot be compared): looked up early, that error could come where the path is never
// evaluated (a branch not taken) or before another value's error. So a failed lookup leaves a mark in its slot (and in
// its children's), and a path that meets the mark walks from the current value as it would without sharing, raising
// the error where and when it would have been raised.
internal sealed partial class Compiler
{
    // The path nodes that continue from a slot (by node identity), and each multi-select's lookups.
    private readonly Dictionary<Node, SharedSite> _sharedSites = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Node, SharedLookup[]> _sharedLookups = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Compiles the members of an expression set, each evaluated on its own against the same input: the leading field
    /// chains that two or more members start with are looked up once per input (<see cref="LookUpShared"/>, before any
    /// member runs), as a multi-select's are, and the members continue from the slots. Every member is the expression
    /// it would be alone, with the same results, errors and charges (see the notes at the top of this file).
    /// </summary>
    public static SetPlan CompileSet(Node[] roots)
    {
        var compiler = new Compiler();
        SharedLookup[]? lookups = compiler.PlanSharedPaths(null, roots);
        var evaluators = new Evaluator[roots.Length];
        var writers = new Writer?[roots.Length];
        for (int i = 0; i < roots.Length; i++)
        {
            evaluators[i] = compiler.Node(roots[i]);
            writers[i] = compiler.WriterFor(roots[i]);
        }

        return new SetPlan(evaluators, writers, lookups, compiler._slots);
    }

    /// <summary>Plans the shared lookups of <paramref name="multiSelect"/> (or of a set's members, for <see langword="null"/>), before its members are compiled (they read the plan).</summary>
    private SharedLookup[]? PlanSharedPaths(Node? multiSelect, Node[] members)
    {
        if (GeneralPathsOnly)
        {
            return null;
        }

        var sites = new List<(Node Node, string[] Chain)>();
        foreach (Node member in members)
        {
            CollectChains(member, sites);
        }

        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((Node _, string[] chain) in sites)
        {
            for (int length = 1; length <= chain.Length; length++)
            {
                string key = ChainKey(chain, length);
                uses[key] = uses.GetValueOrDefault(key) + 1;
            }
        }

        // Each chain continues from its longest prefix that two or more sites share; a prefix's slot is planned after its
        // parent's, so one pass in plan order fills them all.
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var plan = new List<SharedLookup>();
        foreach ((Node node, string[] chain) in sites)
        {
            int slot = -1, consumed = 0;
            for (int length = 1; length <= chain.Length && uses[ChainKey(chain, length)] >= 2; length++)
            {
                string key = ChainKey(chain, length);
                if (!slots.TryGetValue(key, out int own))
                {
                    own = _slots++;
                    slots[key] = own;
                    string name = chain[length - 1];
                    plan.Add(new SharedLookup(own, slot, name, Encoding.UTF8.GetBytes(name)));
                }

                slot = own;
                consumed = length;
            }

            if (consumed > 0)
            {
                _sharedSites[node] = new SharedSite(slot, consumed);
            }
        }

        if (plan.Count == 0)
        {
            return null;
        }

        SharedLookup[] lookups = [.. plan];
        if (multiSelect is not null)
        {
            _sharedLookups[multiSelect] = lookups;
        }

        return lookups;
    }

    /// <summary>Collects the paths evaluated against the current value, each with its leading run of fields.</summary>
    /// <remarks>A path already registered belongs to an enclosing multi-select evaluated against the same value, which looks it up.</remarks>
    private void CollectChains(Node node, List<(Node Node, string[] Chain)> sites)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (node)
        {
            case FieldNode field:
                if (!_sharedSites.ContainsKey(field))
                {
                    sites.Add((field, [field.Name]));
                }

                return;
            case SubexpressionNode sub:
                var steps = new List<Node>();
                if (!TryPath(sub, steps))
                {
                    CollectChains(sub.Left, sites);
                    return;
                }

                string[] chain = [.. steps.TakeWhile(s => s is FieldNode).Select(s => ((FieldNode)s).Name)];
                if (chain.Length > 0 && !_sharedSites.ContainsKey(sub))
                {
                    sites.Add((sub, chain));
                }

                return;
            default:
                foreach (Node child in SameContextChildren(node))
                {
                    CollectChains(child, sites);
                }

                return;
        }
    }

    /// <summary>The children of <paramref name="node"/> evaluated against the same current value as the node itself.</summary>
    /// <remarks>
    /// All of <see cref="PolicyCheck.Children"/> but what runs in another context: per element (projection and filter
    /// right sides, filter conditions), on a left side's result (pipe and sub-expression right sides), or per element
    /// a function chooses (the body of an &amp;expression argument).
    /// </remarks>
    private static IEnumerable<Node> SameContextChildren(Node node) => node switch
    {
        ProjectionNode projection => [projection.Left],
        ValueProjectionNode projection => [projection.Left],
        FilterProjectionNode filter => [filter.Left],
        PipeNode pipe => [pipe.Left],
        SubexpressionNode sub => [sub.Left],
        ExpressionRefNode => [],
        _ => PolicyCheck.Children(node),
    };

    /// <summary>An unambiguous key for the first <paramref name="length"/> names of a chain (names may hold any character).</summary>
    private static string ChainKey(string[] chain, int length)
    {
        var key = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            key.Append(chain[i].Length).Append(':').Append(chain[i]);
        }

        return key.ToString();
    }

    /// <summary>The mark of a lookup that failed: an expression reference, which no lookup can return.</summary>
    private static readonly JValue s_failedLookup = JValue.FromExpression(new ExpressionRef(static (in JValue current, ref EvalContext context) => default, 0));

    /// <summary>Looks up the shared chains of a multi-select or an expression set into their slots, parents first; called before its members run.</summary>
    /// <remarks>Charges nothing (field lookups cost no steps), so it needs no evaluation context.</remarks>
    public static void LookUpShared(SharedLookup[] lookups, in JValue current, JValue[] slots)
    {
        foreach (SharedLookup lookup in lookups)
        {
            JValue parent = lookup.Parent < 0 ? current : slots[lookup.Parent];
            if (parent.Type == JType.Expression)
            {
                slots[lookup.Slot] = s_failedLookup;
                continue;
            }

            try
            {
                slots[lookup.Slot] = parent.Property(lookup.Name, lookup.Utf8);
            }
            catch (Exception e) when (InternalFailures.IsInternal(e))
            {
                slots[lookup.Slot] = s_failedLookup;
            }
        }
    }

    /// <summary>A field that is a shared chain of its own: the slot, or on a failed lookup the field looked up again.</summary>
    private static Evaluator SharedField(FieldNode field, SharedSite site)
    {
        int slot = site.Slot;
        string name = field.Name;
        byte[] utf8 = Encoding.UTF8.GetBytes(name);
        return (in JValue current, ref EvalContext context) =>
        {
            JValue value = context.Slots![slot];
            return value.Type == JType.Expression ? current.Property(name, utf8) : value;
        };
    }

    /// <summary>A path that continues from a shared slot with its remaining steps (fields and indexes); on a failed lookup, the whole path.</summary>
    private static Evaluator SharedPath(List<Node> steps, SharedSite site)
    {
        int slot = site.Slot;
        Evaluator whole = Path(steps);
        List<Node> rest = steps.GetRange(site.Consumed, steps.Count - site.Consumed);
        Evaluator? remaining = rest.Count == 0 ? null : Path(rest);
        return (in JValue current, ref EvalContext context) =>
        {
            JValue value = context.Slots![slot];
            if (value.Type == JType.Expression)
            {
                return whole(current, ref context);
            }

            return remaining is null ? value : remaining(value, ref context);
        };
    }

    /// <summary>One shared lookup: <paramref name="Slot"/> = the value in <paramref name="Parent"/> (or the current value, for -1), field <paramref name="Name"/>.</summary>
    internal sealed record SharedLookup(int Slot, int Parent, string Name, byte[] Utf8);

    /// <summary>A compiled expression set: each member's evaluator and streaming writer, the lookups they share, and the slots they all need.</summary>
    internal sealed record SetPlan(Evaluator[] Evaluators, Writer?[] Writers, SharedLookup[]? Lookups, int Slots);

    /// <summary>Where a path continues from: the slot of its longest shared prefix, and how many of its steps that prefix covers.</summary>
    private readonly record struct SharedSite(int Slot, int Consumed);
}
