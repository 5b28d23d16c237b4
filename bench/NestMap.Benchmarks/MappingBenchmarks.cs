using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using DevLab.JmesPath.Expressions;
using NestMap.Mapping.Expressions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NetJmesPath = DevLab.JmesPath.JmesPath;

namespace NestMap.Benchmarks;

/// <summary>
/// Issue 5: a mapping-shaped workload (20 JMESPath expressions over a ~2 KB order document, each result written as a
/// field of one output object) evaluated by our engine, by JmesPath.Net 1.1.0, and by hand-written System.Text.Json
/// code that produces the same output (the baseline).
/// </summary>
/// <remarks>
/// The input is parsed once (a <see cref="JsonDocument"/> for ours and the hand-written code, a <see cref="JToken"/>
/// for JmesPath.Net) and the expressions are compiled/parsed once, in the setup: each invocation is evaluation plus
/// writing the output object into a reused buffer. The setup checks that the three outputs are semantically equal
/// field by field and throws if not.
/// </remarks>
[MemoryDiagnoser]
public class MappingBenchmarks : IDisposable
{
    private readonly MappingHarness _harness = new();

    [GlobalSetup]
    public void Setup() => _harness.Verify();

    [Benchmark(Baseline = true)]
    public int HandWrittenStj() => _harness.RunHandWritten();

    [Benchmark]
    public int NestMapJmesPath() => _harness.RunOurs();

    [Benchmark]
    public int JmesPathNet() => _harness.RunJmesPathNet();

    [Benchmark]
    public int NestMapJmesPathSet() => _harness.RunOursAsSet();

    [Benchmark]
    public int NestMapJmesPathHash() => _harness.RunOursAsHash();

    [Benchmark]
    public int JmesPathNetHash() => _harness.RunJmesPathNetAsHash();

    /// <inheritdoc/>
    public void Dispose()
    {
        _harness.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// For information: compiling the 20 expressions of <see cref="MappingBenchmarks"/> with
/// <see cref="JmesPath.Compile"/> against parsing them with JmesPath.Net (the baseline).
/// </summary>
[MemoryDiagnoser]
public class MappingCompileBenchmarks
{
    private readonly NetJmesPath _net = new();
    private readonly ExpressionPolicy _policy = MappingWorkload.Policy;

    [Benchmark(Baseline = true)]
    public int JmesPathNetParse()
    {
        int hash = 0;
        foreach ((string _, string expression) in MappingWorkload.Fields)
        {
            hash ^= _net.Parse(expression).GetHashCode();
        }

        return hash;
    }

    [Benchmark]
    public int NestMapCompile()
    {
        int hash = 0;
        foreach ((string _, string expression) in MappingWorkload.Fields)
        {
            hash ^= JmesPath.Compile(expression, _policy).GetHashCode();
        }

        return hash;
    }
}

/// <summary>
/// Diagnostic: the cost of each expression of <see cref="MappingBenchmarks"/> alone (evaluation and writing its value),
/// to see which ones dominate. Run it with <c>--filter '*ExpressionCost*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class ExpressionCostBenchmarks : IDisposable
{
    private readonly MappingHarness _harness = new();
    private int _index;

    /// <summary>Gets the field names of the workload (the benchmark parameter).</summary>
    public static IEnumerable<string> FieldNames => MappingWorkload.Fields.Select(f => f.Name);

    /// <summary>Gets or sets the field (expression) measured.</summary>
    [ParamsSource(nameof(FieldNames))]
    public string Field { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _harness.Verify();
        _index = Array.FindIndex(MappingWorkload.Fields, f => f.Name == Field);
    }

    [Benchmark(Baseline = true)]
    public int HandWrittenStj() => _harness.RunHandWritten(_index);

    [Benchmark]
    public int NestMapJmesPath() => _harness.RunOurs(_index);

    [Benchmark]
    public int JmesPathNet() => _harness.RunJmesPathNet(_index);

    /// <inheritdoc/>
    public void Dispose()
    {
        _harness.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The document and the expressions of the mapping workload.</summary>
internal static class MappingWorkload
{
    /// <summary>The default policy allows paths of five selections; the workload stays within it.</summary>
    public static readonly ExpressionPolicy Policy = ExpressionPolicy.Default;

    /// <summary>The output field names and the expressions that produce them.</summary>
    public static readonly (string Name, string Expression)[] Fields =
    [
        ("id", "order.id"),
        ("customer", "order.customer.name"),
        ("city", "user.profile.address.city"),
        ("country", "order.customer.address.country"),
        ("first_sku", "order.items[0].sku"),
        ("skus", "order.items[].sku"),
        ("multi_skus", "order.items[?quantity > `1`].sku"),
        ("subtotal", "sum(order.items[].price)"),
        ("item_count", "length(order.items)"),
        ("shipping", "order.shipping_method.code || 'STANDARD'"),
        ("lines", "order.items[].{sku: sku, qty: quantity}"),
        ("sku_list", "join(', ', order.items[].sku)"),
        ("priciest", "max_by(order.items, &price).sku"),
        ("discount", "order.discounts[?active].code | [0]"),
        ("total_text", "to_string(order.total)"),
        ("gift", "contains(order.tags, 'gift')"),
        ("by_price", "sort_by(order.items, &price)[].sku"),
        ("phone", "order.customer.phone || user.profile.phone || 'n/a'"),
        ("fragile", "length(order.items[?contains(tags, 'fragile')])"),
        ("payment", "order.payment.{method: method, last4: card.last4}"),
    ];

    /// <summary>
    /// The same mapping as one JMESPath expression, a multi-select hash of the 20 fields (<c>{id: order.id, ...}</c>),
    /// which is how a mapping is written in JMESPath itself; it writes the same output object.
    /// </summary>
    public static readonly string AsHash = "{" + string.Join(", ", Fields.Select(f => f.Name + ": " + f.Expression)) + "}";

    /// <summary>The order of <see cref="Json"/> with its items repeated <paramref name="times"/> times (6 items each).</summary>
    public static string WithItemsRepeated(int times)
    {
        var order = System.Text.Json.Nodes.JsonNode.Parse(Json)!;
        var items = order["order"]!["items"]!.AsArray();
        string[] copies = [.. items.Select(i => i!.ToJsonString())];
        for (int n = 1; n < times; n++)
        {
            foreach (string copy in copies)
            {
                items.Add(System.Text.Json.Nodes.JsonNode.Parse(copy));
            }
        }

        return order.ToJsonString();
    }

    /// <summary>A realistic order (about 2 KB): no <c>shipping_method</c> and no customer phone, so the fallbacks run.</summary>
    public const string Json = """
        {
          "order": {
            "id": "ORD-2026-004711",
            "created_at": "2026-11-20T14:32:05Z",
            "status": "paid",
            "currency": "EUR",
            "channel": "web",
            "customer": {
              "id": 88123,
              "name": "Ada Lovelace",
              "email": "ada.lovelace@example.com",
              "vip": true,
              "address": { "street": "12 Analytical Row", "city": "London", "postcode": "N1 7GU", "country": "GB" }
            },
            "billing_address": { "street": "12 Analytical Row", "city": "London", "postcode": "N1 7GU", "country": "GB" },
            "items": [
              { "sku": "BK-1001", "name": "Notes on the Analytical Engine", "quantity": 1, "price": 24.5, "weight_g": 420, "tags": ["book", "paperback"] },
              { "sku": "PN-2040", "name": "Fountain pen, fine nib", "quantity": 2, "price": 39.9, "weight_g": 35, "tags": ["stationery", "fragile"] },
              { "sku": "NB-0310", "name": "Squared notebook A5", "quantity": 3, "price": 6.75, "weight_g": 180, "tags": ["stationery"] },
              { "sku": "MG-0007", "name": "Enamel mug", "quantity": 1, "price": 12.0, "weight_g": 310, "tags": ["kitchen", "fragile", "gift-wrap"] },
              { "sku": "LP-5521", "name": "Desk lamp, warm white", "quantity": 1, "price": 54.99, "weight_g": 1250, "tags": ["electronics", "fragile"] },
              { "sku": "IN-0042", "name": "Ink cartridges (pack of 6)", "quantity": 2, "price": 4.2, "weight_g": 20, "tags": ["stationery", "consumable"] }
            ],
            "shipping_type": "express",
            "shipping_cost": 7.9,
            "discounts": [
              { "code": "WELCOME10", "active": false, "amount": 10, "kind": "percent" },
              { "code": "AUTUMN5", "active": true, "amount": 5, "kind": "fixed" },
              { "code": "STAFF", "active": true, "amount": 15, "kind": "percent" }
            ],
            "payment": {
              "method": "card",
              "status": "captured",
              "transaction_id": "txn_3Qx9LmA2bC7dE1fG",
              "card": { "brand": "visa", "last4": "4242", "expiry": "09/29", "three_d_secure": true }
            },
            "tags": ["priority", "gift", "newsletter"],
            "notes": "Please leave the parcel with the concierge if nobody answers.",
            "total": 193.34
          },
          "user": {
            "id": "u-88123",
            "profile": {
              "display_name": "ada",
              "locale": "en-GB",
              "phone": "+44 20 7946 0958",
              "address": { "city": "London", "country": "GB" }
            },
            "preferences": { "newsletter": true, "sms": false, "theme": "dark" },
            "segments": ["returning", "high-value"]
          }
        }
        """;
}

/// <summary>Holds the three implementations of the mapping over the pre-parsed input, and reused output buffers.</summary>
internal sealed class MappingHarness : IDisposable
{
    private readonly string _json;
    private readonly JsonDocument _document;
    private readonly JToken _token;
    private readonly JsonEncodedText[] _names = [.. MappingWorkload.Fields.Select(f => JsonEncodedText.Encode(f.Name))];
    private readonly string[] _netNames = [.. MappingWorkload.Fields.Select(f => f.Name)];
    private readonly CompiledExpression[] _ours =
        [.. MappingWorkload.Fields.Select(f => JmesPath.Compile(f.Expression, MappingWorkload.Policy))];
    private readonly JmesPathExpression[] _theirs;
    private readonly CompiledExpressionSet _oursSet =
        JmesPath.CompileSet(MappingWorkload.Fields.Select(f => f.Expression), MappingWorkload.Policy);
    private readonly CompiledExpression _oursHash = JmesPath.Compile(MappingWorkload.AsHash, MappingWorkload.Policy);
    private readonly JmesPathExpression _theirsHash;
    private readonly ArrayBufferWriter<byte> _buffer = new(8192);
    private readonly Utf8JsonWriter _writer;
    private readonly StringWriter _text = new(new StringBuilder(8192), CultureInfo.InvariantCulture);
    private readonly HandWrittenMapping _handWritten = new();

    /// <summary>Prepares the mapping over <paramref name="json"/> (by default <see cref="MappingWorkload.Json"/>).</summary>
    public MappingHarness(string? json = null)
    {
        _json = json ?? MappingWorkload.Json;
        _document = JsonDocument.Parse(_json);
        _token = NetJmesPath.ParseJson(_json); // as JmesPath.Net reads text
        var net = new NetJmesPath();
        _theirs = [.. MappingWorkload.Fields.Select(f => net.Parse(f.Expression))];
        _theirsHash = net.Parse(MappingWorkload.AsHash);
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>Checks that the three implementations produce semantically equal output, field by field.</summary>
    public void Verify()
    {
        using JsonDocument hand = ParseOutput(RunHandWritten());
        using JsonDocument ours = ParseOutput(RunOurs());
        RunJmesPathNet();
        using JsonDocument theirs = JsonDocument.Parse(_text.ToString());
        using JsonDocument oursSet = ParseOutput(RunOursAsSet());
        using JsonDocument oursHash = ParseOutput(RunOursAsHash());
        RunJmesPathNetAsHash();
        using JsonDocument theirsHash = JsonDocument.Parse(_text.ToString());
        var net = new NetJmesPath();
        for (int i = 0; i < _names.Length; i++)
        {
            string name = _netNames[i];
            JsonElement expected = hand.RootElement.GetProperty(name);
            Check(name, "NestMap", expected, ours.RootElement.GetProperty(name));
            Check(name, "JmesPath.Net", expected, theirs.RootElement.GetProperty(name));
            Check(name, "NestMap (as one set)", expected, oursSet.RootElement.GetProperty(name));
            Check(name, "NestMap (as one hash)", expected, oursHash.RootElement.GetProperty(name));
            Check(name, "JmesPath.Net (as one hash)", expected, theirsHash.RootElement.GetProperty(name));

            // The pre-parsed expression over the pre-parsed token agrees with JmesPath.Net's text-to-text API.
            using JsonDocument direct = JsonDocument.Parse(net.Transform(_json, MappingWorkload.Fields[i].Expression));
            Check(name, "JmesPath.Net (Transform(token, text))", expected, direct.RootElement);

            using JsonDocument handOne = ParseOutput(RunHandWritten(i));
            using JsonDocument oursOne = ParseOutput(RunOurs(i));
            RunJmesPathNet(i);
            using JsonDocument theirsOne = JsonDocument.Parse(_text.ToString());
            Check(name, "hand-written (single field)", expected, handOne.RootElement);
            Check(name, "NestMap (single field)", expected, oursOne.RootElement);
            Check(name, "JmesPath.Net (single field)", expected, theirsOne.RootElement);
        }

        if (ours.RootElement.EnumerateObject().Count() != _names.Length
            || theirs.RootElement.EnumerateObject().Count() != _names.Length
            || hand.RootElement.EnumerateObject().Count() != _names.Length
            || oursSet.RootElement.EnumerateObject().Count() != _names.Length
            || oursHash.RootElement.EnumerateObject().Count() != _names.Length
            || theirsHash.RootElement.EnumerateObject().Count() != _names.Length)
        {
            throw new InvalidOperationException("An output does not have one property per field.");
        }

        static void Check(string field, string who, JsonElement expected, JsonElement actual)
        {
            if (!JsonElement.DeepEquals(expected, actual))
            {
                throw new InvalidOperationException(
                    $"Field '{field}': {who} produced {actual.GetRawText()}, the hand-written code {expected.GetRawText()}.");
            }
        }
    }

    private JsonDocument ParseOutput(int length) => JsonDocument.Parse(_buffer.WrittenMemory[..length].ToArray()); // a copy: the buffer is reused

    public int RunHandWritten()
    {
        Utf8JsonWriter writer = Begin();
        writer.WriteStartObject();
        _handWritten.WriteAll(_document.RootElement, writer, _names);
        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }

    public int RunOurs()
    {
        Utf8JsonWriter writer = Begin();
        JsonElement root = _document.RootElement;
        writer.WriteStartObject();
        for (int i = 0; i < _ours.Length; i++)
        {
            writer.WritePropertyName(_names[i]);
            _ours[i].EvaluateTo(root, writer);
        }

        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }

    /// <summary>The same 20 expressions compiled as one <see cref="CompiledExpressionSet"/>: shared leading lookups once per input.</summary>
    public int RunOursAsSet()
    {
        Utf8JsonWriter writer = Begin();
        ExpressionSetEvaluation evaluation = _oursSet.Evaluate(_document.RootElement);
        writer.WriteStartObject();
        for (int i = 0; i < _names.Length; i++)
        {
            writer.WritePropertyName(_names[i]);
            evaluation.EvaluateTo(i, writer);
        }

        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }

    public int RunJmesPathNet()
    {
        _text.GetStringBuilder().Clear();
        using var writer = new JsonTextWriter(_text) { CloseOutput = false, Formatting = Formatting.None };
        JmesPathArgument input = _token;
        writer.WriteStartObject();
        for (int i = 0; i < _theirs.Length; i++)
        {
            writer.WritePropertyName(_netNames[i]);
            WriteToken(writer, _theirs[i].Transform(input).AsJToken());
        }

        writer.WriteEndObject();
        writer.Flush();
        return _text.GetStringBuilder().Length;
    }

    public int RunOursAsHash()
    {
        Utf8JsonWriter writer = Begin();
        _oursHash.EvaluateTo(_document.RootElement, writer);
        writer.Flush();
        return _buffer.WrittenCount;
    }

    public int RunJmesPathNetAsHash()
    {
        _text.GetStringBuilder().Clear();
        using var writer = new JsonTextWriter(_text) { CloseOutput = false, Formatting = Formatting.None };
        WriteToken(writer, _theirsHash.Transform(_token).AsJToken());
        writer.Flush();
        return _text.GetStringBuilder().Length;
    }

    public int RunHandWritten(int index)
    {
        Utf8JsonWriter writer = Begin();
        _handWritten.WriteOne(index, _document.RootElement, writer);
        writer.Flush();
        return _buffer.WrittenCount;
    }

    public int RunOurs(int index)
    {
        Utf8JsonWriter writer = Begin();
        _ours[index].EvaluateTo(_document.RootElement, writer);
        writer.Flush();
        return _buffer.WrittenCount;
    }

    public int RunJmesPathNet(int index)
    {
        _text.GetStringBuilder().Clear();
        using var writer = new JsonTextWriter(_text) { CloseOutput = false, Formatting = Formatting.None };
        WriteToken(writer, _theirs[index].Transform(_token).AsJToken());
        writer.Flush();
        return _text.GetStringBuilder().Length;
    }

    private static void WriteToken(JsonTextWriter writer, JToken? token)
    {
        if (token is null)
        {
            writer.WriteNull();
        }
        else
        {
            token.WriteTo(writer);
        }
    }

    private Utf8JsonWriter Begin()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset();
        return _writer;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _document.Dispose();
        _text.Dispose();
    }
}

/// <summary>
/// The mapping written by hand over <see cref="JsonElement"/>: UTF-8 property names, no LINQ, no intermediate nodes, the
/// JMESPath semantics the expressions have (a missing path gives <c>null</c>, projections skip <c>null</c>s, <c>||</c>
/// tests truthiness, <c>sort_by</c> is stable), with reused scratch buffers.
/// </summary>
internal sealed class HandWrittenMapping
{
    private readonly StringBuilder _join = new(256);
    private JsonElement[] _sortItems = new JsonElement[16];
    private double[] _sortKeys = new double[16];

    public void WriteAll(JsonElement root, Utf8JsonWriter w, JsonEncodedText[] names)
    {
        JsonElement order = Prop(root, "order"u8);
        JsonElement items = Prop(order, "items"u8);
        w.WritePropertyName(names[0]);
        WriteOrNull(w, Prop(order, "id"u8));
        w.WritePropertyName(names[1]);
        WriteOrNull(w, Prop(Prop(order, "customer"u8), "name"u8));
        w.WritePropertyName(names[2]);
        WriteOrNull(w, Prop(Prop(Prop(Prop(root, "user"u8), "profile"u8), "address"u8), "city"u8));
        w.WritePropertyName(names[3]);
        WriteOrNull(w, Prop(Prop(Prop(order, "customer"u8), "address"u8), "country"u8));
        w.WritePropertyName(names[4]);
        FirstSku(w, items);
        w.WritePropertyName(names[5]);
        Skus(w, items);
        w.WritePropertyName(names[6]);
        MultiSkus(w, items);
        w.WritePropertyName(names[7]);
        Subtotal(w, items);
        w.WritePropertyName(names[8]);
        ItemCount(w, items);
        w.WritePropertyName(names[9]);
        Shipping(w, order);
        w.WritePropertyName(names[10]);
        Lines(w, items);
        w.WritePropertyName(names[11]);
        SkuList(w, items);
        w.WritePropertyName(names[12]);
        Priciest(w, items);
        w.WritePropertyName(names[13]);
        Discount(w, order);
        w.WritePropertyName(names[14]);
        TotalText(w, order);
        w.WritePropertyName(names[15]);
        Gift(w, order);
        w.WritePropertyName(names[16]);
        ByPrice(w, items);
        w.WritePropertyName(names[17]);
        Phone(w, root, order);
        w.WritePropertyName(names[18]);
        Fragile(w, items);
        w.WritePropertyName(names[19]);
        Payment(w, order);
    }

    public void WriteOne(int index, JsonElement root, Utf8JsonWriter w)
    {
        JsonElement order = Prop(root, "order"u8);
        JsonElement items = Prop(order, "items"u8);
        switch (index)
        {
            case 0: WriteOrNull(w, Prop(order, "id"u8)); break;
            case 1: WriteOrNull(w, Prop(Prop(order, "customer"u8), "name"u8)); break;
            case 2: WriteOrNull(w, Prop(Prop(Prop(Prop(root, "user"u8), "profile"u8), "address"u8), "city"u8)); break;
            case 3: WriteOrNull(w, Prop(Prop(Prop(order, "customer"u8), "address"u8), "country"u8)); break;
            case 4: FirstSku(w, items); break;
            case 5: Skus(w, items); break;
            case 6: MultiSkus(w, items); break;
            case 7: Subtotal(w, items); break;
            case 8: ItemCount(w, items); break;
            case 9: Shipping(w, order); break;
            case 10: Lines(w, items); break;
            case 11: SkuList(w, items); break;
            case 12: Priciest(w, items); break;
            case 13: Discount(w, order); break;
            case 14: TotalText(w, order); break;
            case 15: Gift(w, order); break;
            case 16: ByPrice(w, items); break;
            case 17: Phone(w, root, order); break;
            case 18: Fragile(w, items); break;
            case 19: Payment(w, order); break;
            default: throw new ArgumentOutOfRangeException(nameof(index));
        }
    }

    private static JsonElement Prop(JsonElement e, ReadOnlySpan<byte> name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement value) ? value : default;

    private static bool IsNullOrMissing(JsonElement e) => e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

    private static void WriteOrNull(Utf8JsonWriter w, JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Undefined)
        {
            w.WriteNullValue();
        }
        else
        {
            e.WriteTo(w);
        }
    }

    private static bool IsTruthy(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => !e.ValueEquals(""u8),
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.GetPropertyCount() > 0,
        JsonValueKind.Number or JsonValueKind.True => true,
        _ => false,
    };

    private static void FirstSku(Utf8JsonWriter w, JsonElement items) =>
        WriteOrNull(w, items.ValueKind == JsonValueKind.Array && items.GetArrayLength() > 0 ? Prop(items[0], "sku"u8) : default);

    private static void Skus(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (JsonElement item in items.EnumerateArray())
        {
            JsonElement sku = Prop(item, "sku"u8);
            if (!IsNullOrMissing(sku))
            {
                sku.WriteTo(w);
            }
        }

        w.WriteEndArray();
    }

    private static void MultiSkus(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (JsonElement item in items.EnumerateArray())
        {
            JsonElement quantity = Prop(item, "quantity"u8);
            if (quantity.ValueKind == JsonValueKind.Number && quantity.GetDouble() > 1)
            {
                JsonElement sku = Prop(item, "sku"u8);
                if (!IsNullOrMissing(sku))
                {
                    sku.WriteTo(w);
                }
            }
        }

        w.WriteEndArray();
    }

    private static void Subtotal(Utf8JsonWriter w, JsonElement items)
    {
        double sum = 0;
        if (items.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in items.EnumerateArray())
            {
                JsonElement price = Prop(item, "price"u8);
                if (price.ValueKind == JsonValueKind.Number)
                {
                    sum += price.GetDouble();
                }
            }
        }

        w.WriteNumberValue(sum);
    }

    private static void ItemCount(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind == JsonValueKind.Array)
        {
            w.WriteNumberValue(items.GetArrayLength());
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void Shipping(Utf8JsonWriter w, JsonElement order)
    {
        JsonElement code = Prop(Prop(order, "shipping_method"u8), "code"u8);
        if (IsTruthy(code))
        {
            code.WriteTo(w);
        }
        else
        {
            w.WriteStringValue("STANDARD"u8);
        }
    }

    private static void Lines(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (JsonElement item in items.EnumerateArray())
        {
            if (IsNullOrMissing(item))
            {
                continue;
            }

            w.WriteStartObject();
            w.WritePropertyName("sku"u8);
            WriteOrNull(w, Prop(item, "sku"u8));
            w.WritePropertyName("qty"u8);
            WriteOrNull(w, Prop(item, "quantity"u8));
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private void SkuList(Utf8JsonWriter w, JsonElement items)
    {
        _join.Clear();
        if (items.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in items.EnumerateArray())
            {
                JsonElement sku = Prop(item, "sku"u8);
                if (sku.ValueKind == JsonValueKind.String)
                {
                    if (_join.Length > 0)
                    {
                        _join.Append(", ");
                    }

                    _join.Append(sku.GetString());
                }
            }
        }

        w.WriteStringValue(_join.ToString());
    }

    private static void Priciest(Utf8JsonWriter w, JsonElement items)
    {
        JsonElement best = default;
        double bestPrice = double.NegativeInfinity;
        if (items.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in items.EnumerateArray())
            {
                JsonElement price = Prop(item, "price"u8);
                if (price.ValueKind == JsonValueKind.Number && price.GetDouble() > bestPrice)
                {
                    bestPrice = price.GetDouble();
                    best = item;
                }
            }
        }

        WriteOrNull(w, Prop(best, "sku"u8));
    }

    private static void Discount(Utf8JsonWriter w, JsonElement order)
    {
        JsonElement discounts = Prop(order, "discounts"u8);
        if (discounts.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement discount in discounts.EnumerateArray())
            {
                if (IsTruthy(Prop(discount, "active"u8)))
                {
                    JsonElement code = Prop(discount, "code"u8);
                    if (!IsNullOrMissing(code))
                    {
                        code.WriteTo(w);
                        return;
                    }
                }
            }
        }

        w.WriteNullValue();
    }

    private static void TotalText(Utf8JsonWriter w, JsonElement order)
    {
        JsonElement total = Prop(order, "total"u8);
        if (total.ValueKind == JsonValueKind.Number)
        {
            Span<char> text = stackalloc char[32];
            _ = total.GetDouble().TryFormat(text, out int written, "R", CultureInfo.InvariantCulture);
            w.WriteStringValue(text[..written]);
        }
        else
        {
            WriteOrNull(w, total);
        }
    }

    private static void Gift(Utf8JsonWriter w, JsonElement order)
    {
        JsonElement tags = Prop(order, "tags"u8);
        bool found = false;
        if (tags.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement tag in tags.EnumerateArray())
            {
                if (tag.ValueKind == JsonValueKind.String && tag.ValueEquals("gift"u8))
                {
                    found = true;
                    break;
                }
            }
        }

        w.WriteBooleanValue(found);
    }

    private void ByPrice(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            w.WriteNullValue();
            return;
        }

        int count = items.GetArrayLength();
        if (_sortItems.Length < count)
        {
            _sortItems = new JsonElement[count];
            _sortKeys = new double[count];
        }

        // Insertion sort: stable, as sort_by is, and the fastest for a handful of items.
        int n = 0;
        foreach (JsonElement item in items.EnumerateArray())
        {
            double key = Prop(item, "price"u8).GetDouble();
            int j = n - 1;
            while (j >= 0 && _sortKeys[j] > key)
            {
                _sortKeys[j + 1] = _sortKeys[j];
                _sortItems[j + 1] = _sortItems[j];
                j--;
            }

            _sortKeys[j + 1] = key;
            _sortItems[j + 1] = item;
            n++;
        }

        w.WriteStartArray();
        for (int i = 0; i < n; i++)
        {
            JsonElement sku = Prop(_sortItems[i], "sku"u8);
            if (!IsNullOrMissing(sku))
            {
                sku.WriteTo(w);
            }
        }

        w.WriteEndArray();
    }

    private static void Phone(Utf8JsonWriter w, JsonElement root, JsonElement order)
    {
        JsonElement phone = Prop(Prop(order, "customer"u8), "phone"u8);
        if (!IsTruthy(phone))
        {
            phone = Prop(Prop(Prop(root, "user"u8), "profile"u8), "phone"u8);
        }

        if (IsTruthy(phone))
        {
            phone.WriteTo(w);
        }
        else
        {
            w.WriteStringValue("n/a"u8);
        }
    }

    private static void Fragile(Utf8JsonWriter w, JsonElement items)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            w.WriteNullValue();
            return;
        }

        int count = 0;
        foreach (JsonElement item in items.EnumerateArray())
        {
            JsonElement tags = Prop(item, "tags"u8);
            if (tags.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement tag in tags.EnumerateArray())
                {
                    if (tag.ValueKind == JsonValueKind.String && tag.ValueEquals("fragile"u8))
                    {
                        count++;
                        break;
                    }
                }
            }
        }

        w.WriteNumberValue(count);
    }

    private static void Payment(Utf8JsonWriter w, JsonElement order)
    {
        JsonElement payment = Prop(order, "payment"u8);
        if (IsNullOrMissing(payment))
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WritePropertyName("method"u8);
        WriteOrNull(w, Prop(payment, "method"u8));
        w.WritePropertyName("last4"u8);
        WriteOrNull(w, Prop(Prop(payment, "card"u8), "last4"u8));
        w.WriteEndObject();
    }
}
