using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NestMap.Mapping.Expressions.Ast;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// Turns a checked syntax tree into a tree of closures, one per node, each specialised for its node: evaluation then
/// calls straight from closure to closure instead of dispatching on node types each time.
/// </summary>
/// <remarks>
/// <para>
/// Why closures rather than System.Linq.Expressions trees compiled to IL: compiling IL costs milliseconds and
/// allocates a dynamic method per expression, which a mapping with hundreds of rules (or a service compiling rules at
/// run time) pays up front; expression trees are also interpreted, not compiled, under Native AOT. Closures compile
/// in microseconds, run at nearly the speed of hand-written code for the JSON navigation that dominates (the work
/// is in System.Text.Json's property lookup, not in the dispatch), and work the same everywhere. Chains of plain
/// fields (<c>order.customer.name</c>) are fused into one closure that walks the chain in a loop.
/// </para>
/// <para>
/// Budgets: every loop charges, per element, the number of nodes its body evaluates, so the step count tracks the
/// real work done. <c>let</c> variables are resolved here to slots in a per-evaluation array. Not thread-safe; one
/// instance per compilation. The closures it makes are immutable and thread-safe.
/// </para>
/// </remarks>
internal sealed partial class Compiler
{
    private readonly List<(string Name, int Slot)> _scope = [];

    // Every node's evaluator, by node identity (records compare by value, and $a in two scopes must stay apart).
    private readonly Dictionary<Node, Evaluator> _compiled = new(ReferenceEqualityComparer.Instance);
    private int _slots;

    private Compiler()
    {
    }

    /// <summary>Compiles <paramref name="root"/>; returns the evaluator and how many variable slots it needs.</summary>
    /// <summary>Compiles <paramref name="root"/>, and also a writer for it when its shape can stream (see <see cref="Writer"/>).</summary>
    public static (Evaluator Evaluator, int Slots) Compile(Node root, out Writer? writer)
    {
        var compiler = new Compiler();
        Evaluator evaluator = compiler.Node(root);
        writer = compiler.WriterFor(root);
        return (evaluator, compiler._slots);
    }

    private Evaluator Node(Node node)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        Evaluator evaluator = Make(node);

        // Evaluation recurses as deep as the tree. Every sixteenth level checks that the thread has stack left, so a
        // deep expression evaluated on a thread with a small stack fails with a limit error instead of crashing. The
        // checked evaluator is the one kept for the node: fast paths and streaming writers that call a node's
        // evaluator directly must keep its check (a review found folds nested 300 deep overflowing without it).
        if (node.Depth % 16 == 0)
        {
            evaluator = WithStackCheck(evaluator);
        }

        _compiled[node] = evaluator;
        return evaluator;
    }

    private static Evaluator WithStackCheck(Evaluator evaluator) => (in JValue current, ref EvalContext context) =>
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return evaluator(current, ref context);
    };

    private Evaluator Make(Node node) => node switch
    {
        LiteralNode literal => Literal(literal.Value),
        FieldNode field => Field(field),
        CurrentNode => static (in JValue current, ref EvalContext context) => current,
        RootNode => static (in JValue current, ref EvalContext context) => context.Root,
        VariableNode variable => Variable(variable),
        IndexNode index => Index(index.Index),
        SliceNode slice => Slice(slice),
        SubexpressionNode sub => Subexpression(sub),
        ProjectionNode projection => Projection(projection),
        ValueProjectionNode projection => ValueProjection(projection),
        FilterProjectionNode filter => Filter(filter),
        FlattenNode flatten => Flatten(flatten),
        PipeNode pipe => Pipe(Node(pipe.Left), Node(pipe.Right)),
        BinaryNode binary => Binary(binary),
        UnaryNode unary => Unary(unary),
        TernaryNode ternary => Ternary(Node(ternary.Condition), Node(ternary.Then), Node(ternary.Else)),
        MultiSelectListNode list => MultiSelectList(list),
        MultiSelectHashNode hash => MultiSelectHash(hash),
        FunctionNode function => Function(function),
        ExpressionRefNode reference => ExpressionAsValue(reference.Offset),
        LetNode let => Let(let),
        _ => throw new InvalidOperationException("Unknown node " + node.GetType().Name),
    };

    private static Evaluator Literal(JValue value) => (in JValue current, ref EvalContext context) => value;

    private Evaluator Field(FieldNode field)
    {
        if (_sharedSites.TryGetValue(field, out SharedSite site))
        {
            return SharedField(field, site);
        }

        string name = field.Name;
        byte[] utf8 = Encoding.UTF8.GetBytes(name);
        return (in JValue current, ref EvalContext context) => current.Property(name, utf8);
    }

    private Evaluator Variable(VariableNode variable)
    {
        for (int i = _scope.Count - 1; i >= 0; i--)
        {
            if (_scope[i].Name == variable.Name)
            {
                int slot = _scope[i].Slot;
                return (in JValue current, ref EvalContext context) => context.Slots![slot];
            }
        }

        // JEP-11: an unbound variable is an error when it is evaluated, not when it is compiled.
        string detail = ErrorMessages.Format(ErrorMessages.UndefinedVariable, variable.Name);
        int offset = variable.Offset;
        return (in JValue current, ref EvalContext context) => throw context.Error(ExpressionErrorKind.UndefinedVariable, detail, offset);
    }

    private Evaluator Let(LetNode let)
    {
        // Bindings are evaluated in the enclosing scope, then all become visible in the body.
        var values = new Evaluator[let.Values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Node(let.Values[i]);
        }

        var slots = new int[let.Names.Length];
        int scopeMark = _scope.Count;
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = _slots++;
            _scope.Add((let.Names[i], slots[i]));
        }

        Evaluator body = Node(let.Body);
        _scope.RemoveRange(scopeMark, _scope.Count - scopeMark);

        // A let evaluated again (inside a projection) overwrites its own slots; nothing else can see them, because
        // scoping is lexical and a let cannot contain itself.
        return (in JValue current, ref EvalContext context) =>
        {
            ValueBuffer8 buffer = default;
            Span<JValue> bound = slots.Length <= 8 ? buffer[..slots.Length] : new JValue[slots.Length];
            for (int i = 0; i < values.Length; i++)
            {
                bound[i] = values[i](current, ref context);
            }

            for (int i = 0; i < slots.Length; i++)
            {
                context.Slots![slots[i]] = bound[i];
            }

            return body(current, ref context);
        };
    }

    private static Evaluator Index(int index) => (in JValue current, ref EvalContext context) =>
    {
        if (current.Type != JType.Array)
        {
            return JValue.Missing;
        }

        int i = index;
        if (i < 0)
        {
            i += current.ArrayLength;
            if (i < 0)
            {
                return JValue.Missing;
            }
        }

        return current.ArrayItem(i);
    };

    private static Evaluator Slice(SliceNode slice)
    {
        int? start = slice.Start, stop = slice.Stop;
        int step = slice.Step, offset = slice.Offset;
        return (in JValue current, ref EvalContext context) =>
        {
            if (current.Type == JType.String)
            {
                string[] points = JsonText.CodePoints(current.String);
                (int from, int count) = SliceBounds(points.Length, start, stop, step);
                var text = new StringBuilder();
                for (int k = 0, i = from; k < count; k++, i += step)
                {
                    text.Append(points[i]);
                }

                context.Steps(count, offset);
                return JValue.FromString(text.ToString());
            }

            if (current.Type != JType.Array)
            {
                return JValue.Missing;
            }

            (int first, int length) = SliceBounds(current.ArrayLength, start, stop, step);
            context.Steps(length, offset);
            context.Build(length, offset);
            var items = new JValue[length];
            if (current.BuiltArray is { } built)
            {
                for (int k = 0, i = first; k < length; k++, i += step)
                {
                    items[k] = built[i];
                }
            }
            else
            {
                // Element arrays are walked once (indexing a JsonElement array of objects is not O(1)).
                JValue[] all = new JValue[current.ArrayLength];
                int n = 0;
                foreach (JValue item in current.EnumerateArray())
                {
                    all[n++] = item;
                }

                for (int k = 0, i = first; k < length; k++, i += step)
                {
                    items[k] = all[i];
                }
            }

            return JValue.FromArray(items);
        };
    }

    /// <summary>Python's slice rules: the first index and the number of items selected.</summary>
    internal static (int First, int Count) SliceBounds(int length, int? start, int? stop, int step)
    {
        static int Clamp(int value, int length, int step)
        {
            if (value < 0)
            {
                value += length;
                return value < 0 ? (step < 0 ? -1 : 0) : value;
            }

            return value >= length ? (step < 0 ? length - 1 : length) : value;
        }

        int first = start is { } s ? Clamp(s, length, step) : (step < 0 ? length - 1 : 0);
        int last = stop is { } e ? Clamp(e, length, step) : (step < 0 ? -1 : length);
        long count = step > 0
            ? (last > first ? ((long)last - first + step - 1) / step : 0)
            : (first > last ? ((long)first - last - step - 1) / -(long)step : 0);
        return (first, (int)count);
    }

    private Evaluator Subexpression(SubexpressionNode sub)
    {
        var steps = new List<Node>();
        if (TryPath(sub, steps))
        {
            return _sharedSites.TryGetValue(sub, out SharedSite site) ? SharedPath(steps, site) : Path(steps);
        }

        Evaluator left = Node(sub.Left), right = Node(sub.Right);
        return (in JValue current, ref EvalContext context) =>
        {
            JValue value = left(current, ref context);
            return value.IsNullOrMissing ? JValue.Missing : right(value, ref context);
        };
    }

    /// <summary>Collects, in order, the steps of a sub-expression made only of fields and indexes (<c>a.b[0].c</c>).</summary>
    private static bool TryPath(Node node, List<Node> steps)
    {
        switch (node)
        {
            case FieldNode or IndexNode:
                steps.Add(node);
                return true;
            case SubexpressionNode sub:
                return TryPath(sub.Left, steps) && TryPath(sub.Right, steps);
            default:
                return false;
        }
    }

    /// <summary>
    /// A path of fields and indexes in one loop. A step from null or missing finds nothing, exactly as the nested
    /// sub-expressions would (each short-circuits on null, and a field or index of null is missing).
    /// </summary>
    private static Evaluator Path(List<Node> steps)
    {
        string[] names = [.. steps.Select(s => s is FieldNode f ? f.Name : string.Empty)];
        byte[]?[] utf8 = [.. steps.Select(s => s is FieldNode f ? Encoding.UTF8.GetBytes(f.Name) : null)];
        int[] indexes = [.. steps.Select(s => s is IndexNode i ? i.Index : 0)];
        return (in JValue current, ref EvalContext context) =>
        {
            JValue value = current;
            for (int i = 0; i < names.Length; i++)
            {
                if (utf8[i] is { } name)
                {
                    value = value.Property(names[i], name);
                }
                else
                {
                    if (value.Type != JType.Array)
                    {
                        return JValue.Missing;
                    }

                    int index = indexes[i];
                    if (index < 0)
                    {
                        index += value.ArrayLength;
                        if (index < 0)
                        {
                            return JValue.Missing;
                        }
                    }

                    value = value.ArrayItem(index);
                }

                if (value.Type == JType.Missing)
                {
                    return value;
                }
            }

            return value;
        };
    }

    private Evaluator Projection(ProjectionNode projection)
    {
        Evaluator? right = projection.Right is CurrentNode ? null : Node(projection.Right);
        int cost = projection.Right.Size, offset = projection.Offset;
        if (projection.Left is FlattenNode flatten)
        {
            // a[].b flattens and projects in one pass, without building the flattened array.
            return Collect(Node(flatten.Inner), JType.Array, Projections.Flattened, right, cost, offset);
        }

        // JEP-15: a slice of a string is a string, and what follows applies to it as a whole.
        bool stringSlice = projection.Left is SubexpressionNode { Right: SliceNode };
        return Collect(Node(projection.Left), JType.Array, Projections.Elements, right, cost, offset, stringSlice);
    }

    private Evaluator ValueProjection(ValueProjectionNode projection) =>
        Collect(Node(projection.Left), JType.Object, Projections.Values, Node(projection.Right), projection.Right.Size, projection.Offset);

    private Evaluator Filter(FilterProjectionNode filter)
    {
        Evaluator left = Node(filter.Left), condition = Node(filter.Condition);

        // The identity (a[?c], whose right side is @) needs no call per element.
        Evaluator? right = filter.Right is CurrentNode ? null : Node(filter.Right);
        int conditionCost = filter.Condition.Size;
        return Collect(
            left,
            JType.Array,
            (in JValue array, int offset, ref BuildSink sink, ref EvalContext context) => Projections.Filtered(array, condition, conditionCost, offset, ref sink, ref context),
            right,
            filter.Right.Size,
            filter.Offset);
    }

    /// <summary>
    /// A projection that builds its result: evaluates the source, walks it with <paramref name="walk"/> into a
    /// <see cref="BuildSink"/>, and returns the array; a source of the wrong type finds nothing.
    /// </summary>
    private static Evaluator Collect(Evaluator left, JType sourceType, SinkWalk<BuildSink> walk, Evaluator? right, int cost, int offset, bool stringSlice = false) =>
        (in JValue current, ref EvalContext context) =>
        {
            JValue source = left(current, ref context);
            if (source.Type != sourceType)
            {
                return stringSlice && source.Type == JType.String ? (right is null ? source : right(source, ref context)) : JValue.Missing;
            }

            var sink = new BuildSink(right, cost, offset);
            try
            {
                walk(source, offset, ref sink, ref context);
                return sink.Results.ToValue(ref context, offset);
            }
            finally
            {
                sink.Results.Dispose();
            }
        };

    private Evaluator Flatten(FlattenNode flatten)
    {
        Evaluator inner = Node(flatten.Inner);
        int offset = flatten.Offset;
        return (in JValue current, ref EvalContext context) =>
        {
            JValue array = inner(current, ref context);
            if (array.Type != JType.Array)
            {
                return JValue.Missing;
            }

            var results = new ValueList();
            try
            {
                foreach (JValue item in array.EnumerateArray())
                {
                    context.Step(offset);
                    if (item.Type == JType.Array)
                    {
                        foreach (JValue nested in item.EnumerateArray())
                        {
                            context.Step(offset);
                            results.Add(nested);
                        }
                    }
                    else
                    {
                        results.Add(item);
                    }
                }

                return results.ToValue(ref context, offset);
            }
            finally
            {
                results.Dispose();
            }
        };
    }

    private static Evaluator Pipe(Evaluator left, Evaluator right) =>

        // Community edition: a null (or missing) left side still flows into the right side.
        (in JValue current, ref EvalContext context) => right(left(current, ref context), ref context);

    private static Evaluator Ternary(Evaluator condition, Evaluator then, Evaluator otherwise) =>
        (in JValue current, ref EvalContext context) =>
            condition(current, ref context).IsTruthy ? then(current, ref context) : otherwise(current, ref context);

    private Evaluator Binary(BinaryNode binary)
    {
        Evaluator left = Node(binary.Left), right = Node(binary.Right);
        int offset = binary.Offset;
        switch (binary.Operator)
        {
            case BinaryOperator.Or:
                return (in JValue current, ref EvalContext context) =>
                {
                    JValue value = left(current, ref context);
                    return value.IsTruthy ? value : right(current, ref context);
                };
            case BinaryOperator.And:
                return (in JValue current, ref EvalContext context) =>
                {
                    JValue value = left(current, ref context);
                    return value.IsTruthy ? right(current, ref context) : value;
                };
            case BinaryOperator.Coalesce:
                return (in JValue current, ref EvalContext context) =>
                {
                    JValue value = left(current, ref context);
                    return value.Type == JType.Missing ? right(current, ref context) : value;
                };
            case BinaryOperator.Equal:
                return (in JValue current, ref EvalContext context) =>
                    JValue.FromBoolean(Equal(left(current, ref context), right(current, ref context), ref context, offset));
            case BinaryOperator.NotEqual:
                return (in JValue current, ref EvalContext context) =>
                    JValue.FromBoolean(!Equal(left(current, ref context), right(current, ref context), ref context, offset));
            case BinaryOperator.Less or BinaryOperator.LessOrEqual or BinaryOperator.Greater or BinaryOperator.GreaterOrEqual
                when binary.Right is LiteralNode { Value.Type: JType.Number } literal:
                {
                    // x > `1`: the literal is read once here, not parsed from its text for every element filtered.
                    BinaryOperator op = binary.Operator;
                    double y = literal.Value.Number;
                    return (in JValue current, ref EvalContext context) =>
                    {
                        JValue a = left(current, ref context);
                        if (a.Type != JType.Number)
                        {
                            return JValue.Null;
                        }

                        double x = a.Number;
                        return JValue.FromBoolean(op switch
                        {
                            BinaryOperator.Less => x < y,
                            BinaryOperator.LessOrEqual => x <= y,
                            BinaryOperator.Greater => x > y,
                            _ => x >= y,
                        });
                    };
                }

            case BinaryOperator.Less or BinaryOperator.LessOrEqual or BinaryOperator.Greater or BinaryOperator.GreaterOrEqual:
                {
                    BinaryOperator op = binary.Operator;
                    return (in JValue current, ref EvalContext context) =>
                    {
                        JValue a = left(current, ref context), b = right(current, ref context);
                        if (a.Type != JType.Number || b.Type != JType.Number)
                        {
                            // Ordering is defined for numbers only; anything else compares to null.
                            return JValue.Null;
                        }

                        double x = a.Number, y = b.Number;
                        return JValue.FromBoolean(op switch
                        {
                            BinaryOperator.Less => x < y,
                            BinaryOperator.LessOrEqual => x <= y,
                            BinaryOperator.Greater => x > y,
                            _ => x >= y,
                        });
                    };
                }

            default:
                return Arithmetic(binary.Operator, left, right, offset);
        }
    }

    private static bool Equal(in JValue a, in JValue b, ref EvalContext context, int offset) => context.Equal(a, b, offset);

    private static Evaluator Arithmetic(BinaryOperator op, Evaluator left, Evaluator right, int offset)
    {
        string symbol = op switch
        {
            BinaryOperator.Add => "+",
            BinaryOperator.Subtract => "-",
            BinaryOperator.Multiply => "*",
            BinaryOperator.Divide => "/",
            BinaryOperator.Modulo => "%",
            _ => "//",
        };
        return (in JValue current, ref EvalContext context) =>
        {
            JValue a = left(current, ref context), b = right(current, ref context);
            if (a.Type != JType.Number || b.Type != JType.Number)
            {
                throw context.Error(
                    ExpressionErrorKind.InvalidType,
                    ErrorMessages.Format(ErrorMessages.OperandType, symbol, a.TypeName, b.TypeName),
                    offset);
            }

            double x = a.Number, y = b.Number;
            double result = op switch
            {
                BinaryOperator.Add => x + y,
                BinaryOperator.Subtract => x - y,
                BinaryOperator.Multiply => x * y,
                BinaryOperator.Divide => x / y,
                BinaryOperator.Modulo => x - (y * Math.Floor(x / y)),
                _ => Math.Floor(x / y),
            };
            if (!double.IsFinite(result) || (y == 0 && op is BinaryOperator.Divide or BinaryOperator.Modulo or BinaryOperator.IntegerDivide))
            {
                throw context.Error(
                    ExpressionErrorKind.NotANumber,
                    ErrorMessages.Format(ErrorMessages.NotANumber, x.ToString(CultureInfo.InvariantCulture) + " " + symbol + " " + y.ToString(CultureInfo.InvariantCulture)),
                    offset);
            }

            return JValue.FromNumber(result);
        };
    }

    private Evaluator Unary(UnaryNode unary)
    {
        Evaluator operand = Node(unary.Operand);
        int offset = unary.Offset;
        if (unary.Operator == UnaryOperator.Not)
        {
            return (in JValue current, ref EvalContext context) => JValue.FromBoolean(!operand(current, ref context).IsTruthy);
        }

        bool negate = unary.Operator == UnaryOperator.Negate;
        return (in JValue current, ref EvalContext context) =>
        {
            JValue value = operand(current, ref context);
            if (value.Type != JType.Number)
            {
                throw context.Error(
                    ExpressionErrorKind.InvalidType,
                    ErrorMessages.Format(ErrorMessages.UnaryOperandType, negate ? "-" : "+", value.TypeName),
                    offset);
            }

            if (!negate)
            {
                return value;
            }

            // An input number beyond the double range reads as an infinity, which is not a JSON number.
            double negated = -value.Number;
            return double.IsFinite(negated)
                ? JValue.FromNumber(negated)
                : throw context.Error(ExpressionErrorKind.NotANumber, ErrorMessages.Format(ErrorMessages.NotANumber, "-" + value.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)), offset);
        };
    }

    private Evaluator MultiSelectList(MultiSelectListNode list)
    {
        SharedLookup[]? shared = PlanSharedPaths(list, list.Items);
        Evaluator[] items = [.. list.Items.Select(Node)];
        int offset = list.Offset;
        if (shared is not null)
        {
            return (in JValue current, ref EvalContext context) =>
            {
                LookUpShared(shared, current, context.Slots!);
                return JValue.FromArray(EvaluateAll(items, current, ref context, offset));
            };
        }

        return (in JValue current, ref EvalContext context) => JValue.FromArray(EvaluateAll(items, current, ref context, offset));
    }

    /// <summary>The values of a multi-select list or hash, charged as built; a missing value becomes null.</summary>
    private static JValue[] EvaluateAll(Evaluator[] items, in JValue current, ref EvalContext context, int offset)
    {
        context.Build(items.Length, offset);
        var values = new JValue[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            JValue value = items[i](current, ref context);
            values[i] = value.Type == JType.Missing ? JValue.Null : value;
        }

        return values;
    }

    private Evaluator MultiSelectHash(MultiSelectHashNode hash)
    {
        // Keys are distinct names known now: every evaluation shares this array and builds only the values.
        string[] keys = hash.Keys;
        if (!hash.KeysAreDistinct)
        {
            // A repeated key keeps its first place and its last value, as a JSON object built in order would.
            return DuplicateKeyHash(hash);
        }

        SharedLookup[]? shared = PlanSharedPaths(hash, hash.Values);
        Evaluator[] values = [.. hash.Values.Select(Node)];
        JsonEncodedText[] encoded = [.. keys.Select(k => JsonEncodedText.Encode(k, JavaScriptEncoder.UnsafeRelaxedJsonEscaping))];
        int offset = hash.Offset;
        if (shared is not null)
        {
            return (in JValue current, ref EvalContext context) =>
            {
                LookUpShared(shared, current, context.Slots!);
                return JValue.FromObject(new ObjectValue(keys, EvaluateAll(values, current, ref context, offset), encoded));
            };
        }

        return (in JValue current, ref EvalContext context) =>
            JValue.FromObject(new ObjectValue(keys, EvaluateAll(values, current, ref context, offset), encoded));
    }

    private Evaluator DuplicateKeyHash(MultiSelectHashNode hash)
    {
        string[] keys = hash.Keys;
        Evaluator[] values = [.. hash.Values.Select(Node)];
        int offset = hash.Offset;
        return (in JValue current, ref EvalContext context) =>
        {
            context.Build(keys.Length, offset);
            var members = new OrderedDictionary<string, JValue>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
            {
                JValue value = values[i](current, ref context);
                members[keys[i]] = value.Type == JType.Missing ? JValue.Null : value;
            }

            return JValue.FromObject(ObjectValue.From(members));
        };
    }

    /// <summary>An expression reference anywhere but as a function argument: it has no value to put in a result.</summary>
    private static Evaluator ExpressionAsValue(int offset) => (in JValue current, ref EvalContext context) =>
        throw context.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.ExpressionAsValue, offset);

    private Evaluator Reference(ExpressionRefNode reference)
    {
        var value = JValue.FromExpression(new ExpressionRef(Node(reference.Body), reference.Offset));
        return (in JValue current, ref EvalContext context) => value;
    }

    private Evaluator Function(FunctionNode call)
    {
        FunctionInfo function = FunctionTable.All[call.Name];
        Evaluator[] arguments = [.. call.Arguments.Select(a => a is ExpressionRefNode reference ? Reference(reference) : Node(a))];
        int offset = call.Offset;
        FunctionBody body = function.Body;

        Evaluator general = GeneralCall(function, arguments, offset, body);
        return FoldFor(call, general) ?? ContainsLiteral(call, arguments, general) ?? general;
    }

    private static Evaluator GeneralCall(FunctionInfo function, Evaluator[] arguments, int offset, FunctionBody body)
    {
        // The common arities get their arguments in locals on the stack: nothing to allocate, little to clear.
        switch (arguments.Length)
        {
            case 1:
                {
                    Evaluator only = arguments[0];
                    return (in JValue current, ref EvalContext context) =>
                    {
                        context.Step(offset);
                        JValue arg = only(current, ref context);
                        ReadOnlySpan<JValue> args = new(in arg);
                        function.CheckTypes(args, context, offset);
                        return body(args, ref context, offset);
                    };
                }

            case 2:
                {
                    Evaluator first = arguments[0], second = arguments[1];
                    return (in JValue current, ref EvalContext context) =>
                    {
                        context.Step(offset);
                        ValueBuffer2 buffer = default;
                        buffer[0] = first(current, ref context);
                        buffer[1] = second(current, ref context);
                        function.CheckTypes(buffer, context, offset);
                        return body(buffer, ref context, offset);
                    };
                }

            default:
                return (in JValue current, ref EvalContext context) =>
                {
                    context.Step(offset);
                    ValueBuffer8 buffer = default;
                    Span<JValue> args = arguments.Length <= 8 ? buffer[..arguments.Length] : new JValue[arguments.Length];
                    for (int i = 0; i < arguments.Length; i++)
                    {
                        args[i] = arguments[i](current, ref context);
                    }

                    function.CheckTypes(args, context, offset);
                    return body(args, ref context, offset);
                };
        }
    }
}

/// <summary>Room for eight values on the stack (arguments of a call, bindings of a let).</summary>
[System.Runtime.CompilerServices.InlineArray(8)]
internal struct ValueBuffer8
{
    private JValue _first;
}

/// <summary>Room for sixteen values on the stack (the items and keys of a small sort).</summary>
[System.Runtime.CompilerServices.InlineArray(Length)]
internal struct ValueBuffer16
{
    /// <summary>How many values fit.</summary>
    public const int Length = 16;

    private JValue _first;
}

/// <summary>Room for the sixteen string keys of a small sort on the stack.</summary>
[System.Runtime.CompilerServices.InlineArray(ValueBuffer16.Length)]
internal struct StringBuffer16
{
    private string? _first;
}

/// <summary>Room for the two arguments of a call on the stack.</summary>
[System.Runtime.CompilerServices.InlineArray(2)]
internal struct ValueBuffer2
{
    private JValue _first;
}

/// <summary>A projection's walk over its source (see <see cref="Projections"/>), into a sink.</summary>
internal delegate void SinkWalk<TSink>(in JValue source, int offset, ref TSink sink, ref EvalContext context)
    where TSink : struct, IProjectionSink;
