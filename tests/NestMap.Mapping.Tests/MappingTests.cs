using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using NestMap.Mapping.Specs;

namespace NestMap.Mapping.Tests;

/// <summary>Compiling and running mapping specs: output shape, missing versus null, defaults, compatibility, limits, traces.</summary>
public sealed class MappingTests
{
    private const string OrderSpec = """
        mapping: order
        version: 2
        policy:
          roots: [order, user]
        fields:
          id: order.id
          customer.name: order.customer.name
          customer.email: order.customer.email
          customer.city:
            expr: user.profile.address.city
            default: UNKNOWN
          total:
            expr: sum(order.items[].price)
            required: true
          items: "order.items[].{sku: sku, qty: quantity}"
          greeting:
            template: "Hello {{ user.profile.name }}!"
          shipping.method: order.shipping_method.code
          gift.note: order.gift.note
        compatibility:
          - from: 1
            transform:
              order.shipping_method: "{code: $.order.shipping_type || 'STANDARD'}"
        """;

    private const string V2Input = """
        {"order": {"id": "A1", "customer": {"name": "Ada", "email": null},
                   "items": [{"sku": "X", "quantity": 2, "price": 5}, {"sku": "Y", "quantity": 1, "price": 2.5}],
                   "shipping_method": {"code": "EXPRESS"}},
         "user": {"profile": {"name": "Ada L."}}}
        """;

    private const string V1Input = """
        {"order": {"id": "B2", "customer": {"name": "Bob"}, "items": [{"sku": "Z", "quantity": 1, "price": 1}], "shipping_type": "PICKUP"},
         "user": {"profile": {"name": "Bob", "address": {"city": "Lyon"}}}}
        """;

    private static CompiledMapping Compile(string yaml, MappingOptions? options = null) => MappingCompiler.Compile(MappingSpec.Parse(yaml), options);

    private static MappingResult Map(CompiledMapping mapping, string json) => mapping.Map(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Map_WritesFieldsInSpecOrder_AsNestedObjects()
    {
        MappingResult result = Map(Compile(OrderSpec), V2Input);

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(
            """{"id":"A1","customer":{"name":"Ada","email":null,"city":"UNKNOWN"},"total":7.5,"items":[{"sku":"X","qty":2},{"sku":"Y","qty":1}],"greeting":"Hello Ada L.!","shipping":{"method":"EXPRESS"}}""",
            result.OutputText);
        Assert.Empty(result.AppliedCompatibilitySteps);
        Assert.Equal(2, result.NoDataFields);
    }

    [Fact]
    public void Trace_SaysWhatHappenedToEachField()
    {
        MappingResult result = Map(Compile(OrderSpec, new MappingOptions { Trace = true }), V2Input);

        Assert.Equal(
            ["id: Ok", "customer.name: Ok", "customer.email: Ok", "customer.city: Defaulted", "total: Ok", "items: Ok", "greeting: Ok", "shipping.method: Ok", "gift.note: NoData"],
            result.Traces.Select(t => t.ToString()));
        Assert.All(result.Traces, t => Assert.True(t.Elapsed >= TimeSpan.Zero));
        Assert.True(result.Traces.First(t => t.OutputPath == "items").Steps > 0);
    }

    [Fact]
    public void TraceOff_RecordsNothing()
    {
        MappingResult result = Map(Compile(OrderSpec), V2Input);

        Assert.Empty(result.Traces);
    }

    [Fact]
    public void Compatibility_FillsOnlyMissingPaths_AndIsRecorded()
    {
        CompiledMapping mapping = Compile(OrderSpec, new MappingOptions { Trace = true });

        MappingResult v1 = Map(mapping, V1Input);

        Assert.True(v1.Success, string.Join("\n", v1.Errors));
        Assert.Equal([1], v1.AppliedCompatibilitySteps);
        Assert.All(v1.Traces, t => Assert.Equal([1], t.AppliedCompatibilitySteps));
        Assert.All(Map(mapping, V2Input).Traces, t => Assert.Empty(t.AppliedCompatibilitySteps));
        using var output = JsonDocument.Parse(v1.OutputText);
        Assert.Equal("PICKUP", output.RootElement.GetProperty("shipping").GetProperty("method").GetString());
        Assert.Equal("Lyon", output.RootElement.GetProperty("customer").GetProperty("city").GetString());

        MappingResult v1WithoutType = Map(mapping, V1Input.Replace("\"shipping_type\": \"PICKUP\"", "\"other\": 1", StringComparison.Ordinal));
        Assert.Equal("STANDARD", JsonDocument.Parse(v1WithoutType.OutputText).RootElement.GetProperty("shipping").GetProperty("method").GetString());
    }

    [Fact]
    public void RequiredFieldWithoutValue_FailsTheMapping_ButOtherFieldsAreStillMapped()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  id: order.id\n  total:\n    expr: order.total\n    required: true\n  note: order.note\n", new MappingOptions { Trace = true });

        MappingResult result = Map(mapping, """{"order": {"id": "C3", "note": null}}""");

        Assert.False(result.Success);
        MappingError error = Assert.Single(result.Errors);
        Assert.Equal((MappingErrorCodes.RequiredFieldMissing, "total"), (error.Code, error.Field));
        Assert.Equal(FieldStatus.Error, result.Traces.Single(t => t.OutputPath == "total").Status);
        Assert.Equal(MappingErrorCodes.RequiredFieldMissing, result.Traces.Single(t => t.OutputPath == "total").ErrorCode);
        Assert.Equal("""{"id":"C3","note":null}""", result.OutputText);
    }

    [Fact]
    public void RuntimeErrors_FailTheFieldWithACode()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  a: length(x)\n  b: y\n");

        MappingResult result = Map(mapping, """{"x": 5, "y": "ok"}""");

        MappingError error = Assert.Single(result.Errors);
        Assert.Equal(MappingErrorCodes.FieldEvaluationFailed, error.Code);
        Assert.Contains("NESTMAP102", error.Message, StringComparison.Ordinal);
        Assert.Equal("""{"b":"ok"}""", result.OutputText);
    }

    [Fact]
    public void Template_WithEveryPlaceholderMissing_IsNoData()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  a:\n    template: 'Hi {{ name }}'\n    default: nobody\n  b:\n    template: '{{ x }}-{{ name }}'\n");

        Assert.Equal("""{"a":"nobody","b":"1-"}""", Map(mapping, """{"x": 1}""").OutputText);
    }

    [Theory]
    [InlineData("{\"a\": 1", MappingErrorCodes.InvalidInput)]
    [InlineData("{\"a\": 1, \"a\": 2}", MappingErrorCodes.DuplicateInputProperty)]
    [InlineData("not json", MappingErrorCodes.InvalidInput)]
    public void BadInputs_AreCodedErrors(string json, string code)
    {
        MappingResult result = Map(Compile("mapping: m\nversion: 1\nfields:\n  a: a\n"), json);

        Assert.Equal(code, Assert.Single(result.Errors).Code);
        Assert.True(result.Output.IsEmpty);
    }

    [Fact]
    public void DeepAndLargeInputs_AreRefusedWithinTheirLimits()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\ninput:\n  maxBytes: 1000000\n  maxDepth: 32\nfields:\n  a: a\n");

        MappingResult deep = Map(mapping, new string('[', 10_000) + new string(']', 10_000));
        Assert.Equal(MappingErrorCodes.InputTooDeep, Assert.Single(deep.Errors).Code);

        MappingResult large = mapping.Map(new byte[50 * 1024 * 1024]);
        Assert.Equal(MappingErrorCodes.InputTooLarge, Assert.Single(large.Errors).Code);

        MappingResult fine = Map(mapping, "{\"a\": " + new string('[', 30) + new string(']', 30) + "}");
        Assert.True(fine.Success);
    }

    [Fact]
    public void InvalidExpressions_AreCompileErrorsAtTheirField()
    {
        MappingSpec spec = MappingSpec.Parse("mapping: m\nversion: 1\npolicy:\n  roots: [order]\nfields:\n  a: order.id\n  b: secret.key\n  c: 'order.items[?'\n", "m.yaml");

        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingCompiler.Compile(spec));

        Assert.Equal(
            [(MappingErrorCodes.InvalidExpression, 7, 3), (MappingErrorCodes.InvalidExpression, 8, 3)],
            e.Diagnostics.Select(d => (d.Code, d.Line, d.Column)));
        Assert.Contains("NESTMAP108", e.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.Contains("NESTMAP101", e.Diagnostics[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_IsLoadedAndChecked()
    {
        string dir = Directory.CreateTempSubdirectory("nestmap-schema-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "out.schema.json"), """
                {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["id"],
                 "properties": {"id": {"type": "string"}, "n": {"type": "number"}}}
                """);
            string specPath = Path.Combine(dir, "m.yaml");
            File.WriteAllText(specPath, "mapping: m\nversion: 1\noutput:\n  schema: out.schema.json\nfields:\n  id: id\n  n: n\n");
            CompiledMapping mapping = MappingCompiler.Compile(MappingSpec.Load(specPath), new MappingOptions { ValidateOutput = true });

            Assert.True(Map(mapping, """{"id": "x", "n": 1}""").Success);
            MappingResult bad = Map(mapping, """{"id": 5, "n": "one"}""");
            Assert.Equal(2, bad.Errors.Count);
            Assert.All(bad.Errors, e => Assert.Equal(MappingErrorCodes.SchemaViolation, e.Code));
            Assert.Equal(MappingErrorCodes.SchemaViolation, Assert.Single(Map(mapping, """{"n": 1}""").Errors).Code);

            File.WriteAllText(specPath, "mapping: m\nversion: 1\noutput:\n  schema: absent.json\nfields:\n  id: id\n");
            MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingCompiler.Compile(MappingSpec.Load(specPath)));
            MappingDiagnostic diagnostic = Assert.Single(e.Diagnostics);
            Assert.Equal(MappingErrorCodes.InvalidSchema, diagnostic.Code);
            Assert.Equal((4, 11), (diagnostic.Line, diagnostic.Column)); // where the spec names the schema
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Mapping_CanBeSharedBetweenThreads()
    {
        CompiledMapping mapping = Compile(OrderSpec);
        string expected = Map(mapping, V1Input).OutputText;
        using var barrier = new Barrier(4);

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            barrier.SignalAndWait();
            for (int i = 0; i < 500; i++)
            {
                Assert.Equal(expected, Map(mapping, i % 2 == 0 ? V1Input : V1Input).OutputText);
            }
        });
    }

    [Fact]
    public void Telemetry_OneActivityPerCall_AndFieldOutcomes()
    {
        CompiledMapping mapping = Compile(OrderSpec);
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "NestMap.Mapping",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (activities)
                {
                    activities.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var outcomes = new List<(string Field, string Status)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "NestMap.Mapping" && instrument.Name == "nestmap.mapping.fields")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            string field = string.Empty, status = string.Empty;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                field = tag.Key == "nestmap.mapping.field" ? (string)tag.Value! : field;
                status = tag.Key == "nestmap.mapping.status" ? (string)tag.Value! : status;
            }

            lock (outcomes)
            {
                outcomes.Add((field, status));
            }
        });
        meters.Start();

        Map(mapping, V2Input);

        Activity activity = Assert.Single(activities, a => (string?)a.GetTagItem("nestmap.mapping.id") == "order");
        Assert.Equal(2, activity.GetTagItem("nestmap.mapping.version"));
        Assert.Equal(2, activity.GetTagItem("nestmap.mapping.fields.nodata"));
        Assert.Contains(("customer.city", "defaulted"), outcomes);
        Assert.Contains(("gift.note", "nodata"), outcomes);
        Assert.Contains(("id", "ok"), outcomes);
    }

    [Fact]
    public void Output_KeepsTextReadable()
    {
        MappingResult result = Map(Compile("mapping: m\nversion: 1\nfields:\n  u: name\n"), """{"name": "Müller <a&b> it's +1 ✓"}""");

        Assert.Equal("""{"u":"Müller <a&b> it's +1 ✓"}""", result.OutputText);
    }

    [Fact]
    public void CompatibilityTransform_ThroughAnExplicitNull_FailsAndChangesNothing()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 2\nfields:\n  b: a.b\ncompatibility:\n  - from: 1\n    transform:\n      a.b: c\n");

        MappingResult throughNull = Map(mapping, """{"a": null, "c": 1}""");
        Assert.Equal(MappingErrorCodes.CompatibilityFailed, Assert.Single(throughNull.Errors).Code);
        Assert.Empty(throughNull.AppliedCompatibilitySteps);

        MappingResult throughNumber = Map(mapping, """{"a": 5, "c": 1}""");
        Assert.Equal(MappingErrorCodes.CompatibilityFailed, Assert.Single(throughNumber.Errors).Code);
        Assert.Empty(throughNumber.AppliedCompatibilitySteps);

        MappingResult absent = Map(mapping, """{"c": 1}""");
        Assert.True(absent.Success);
        Assert.Equal([1], absent.AppliedCompatibilitySteps);
        Assert.Equal("""{"b":1}""", absent.OutputText);
    }

    [Fact]
    public void Trace_TimesEachFieldBetweenTwoClockReads()
    {
        // A clock that moves 1 ms at every read. Each field's time is exactly one step: nothing else (another field's
        // clock read or trace) falls between a field's two reads; and ten reads for nine fields: the end of a field is
        // the start of the next.
        var clock = new SteppingClock();
        MappingResult result = Map(Compile(OrderSpec, new MappingOptions { Trace = true, TimeProvider = clock }), V2Input);
        Assert.Equal(9, result.Traces.Count);
        Assert.All(result.Traces, t => Assert.Equal(TimeSpan.FromMilliseconds(1), t.Elapsed));
        Assert.Equal(10, clock.Reads); // nine fields, ten boundaries
    }

    [Fact]
    public void FieldsSharingLeadingPaths_EachGiveWhatTheirExpressionGivesAlone()
    {
        // The fields' expressions are evaluated as one set that looks `order` and `order.items` up once per input: each
        // field's value, status and step count must still be its expression's alone, and a failing field fails alone.
        const string Yaml = "mapping: m\nversion: 1\nfields:\n  id: order.id\n  first: order.items[0].sku\n  total: sum(order.items[].price)\n"
            + "  bad: abs(order.id)\n  none: order.nothing.here\n  city: order.customer.city\n";
        const string Input = """{"order": {"id": "A", "items": [{"sku": "X", "price": 2}, {"sku": "Y", "price": 3}], "customer": {"city": "Oslo"}}}""";
        MappingResult result = Map(Compile(Yaml, new MappingOptions { Trace = true }), Input);
        Assert.Equal("""{"id":"A","first":"X","total":5,"city":"Oslo"}""", result.OutputText);
        Assert.Equal("bad", Assert.Single(result.Errors).Field);
        JsonElement input = JsonDocument.Parse(Input).RootElement;
        foreach ((string field, string expression) in (ReadOnlySpan<(string, string)>)[("id", "order.id"), ("first", "order.items[0].sku"), ("total", "sum(order.items[].price)"), ("none", "order.nothing.here")])
        {
            Assert.Equal(NestMap.Mapping.Expressions.JmesPath.Compile(expression).EvaluateValue(input).Steps, result.Traces.Single(t => t.OutputPath == field).Steps);
        }

        Assert.Equal(FieldStatus.NoData, result.Traces.Single(t => t.OutputPath == "none").Status);
        Assert.Equal(FieldStatus.Error, result.Traces.Single(t => t.OutputPath == "bad").Status);
    }

    [Fact]
    public void UnreadableMemberName_OnASharedPath_FailsOnlyTheFieldsThatReachIt()
    {
        // `x` is looked up once for the fields; only `z`, which scans past the unreadable name, fails.
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  y: x.y\n  z: x.z\n  w: x.y\n");
        MappingResult result = mapping.Map(JsonDocument.Parse("""{"x": {"\ud800": 0, "y": 1}}""").RootElement);
        Assert.Equal(MappingErrorCodes.FieldEvaluationFailed, Assert.Single(result.Errors).Code);
        Assert.Equal("z", result.Errors[0].Field);
        Assert.Equal("""{"y":1,"w":1}""", result.OutputText);
    }

    [Fact]
    public void UnreadableMemberName_FailsTheFieldOrStep_WithACodedError()
    {
        // A member name with a lone surrogate escape cannot be compared with the name a lookup wants: the field whose
        // path meets it fails with a coded error, the compatibility step that checks for its target is reported, and
        // the rest of the mapping goes on.
        CompiledMapping mapping = Compile("mapping: m\nversion: 2\nfields:\n  b: a.b\n  d: d\ncompatibility:\n  - from: 1\n    transform:\n      a.b: c\n");

        // Given as bytes, the input is refused as a whole: checking its names for duplicates decodes them.
        MappingResult refused = Map(mapping, """{"a": {"\ud800": 0}, "c": 1, "d": 2}""");
        Assert.Equal(MappingErrorCodes.InvalidInput, Assert.Single(refused.Errors).Code);

        // Parsed by the caller, it is mapped.
        MappingResult result = mapping.Map(JsonDocument.Parse("""{"a": {"\ud800": 0}, "c": 1, "d": 2}""").RootElement);
        Assert.False(result.Success);
        Assert.Contains(result.Errors, e => e.Code == MappingErrorCodes.CompatibilityFailed);
        Assert.Contains(result.Errors, e => e.Code == MappingErrorCodes.FieldEvaluationFailed && e.Field == "b");
        Assert.Equal("""{"d":2}""", result.OutputText);
    }

    /// <summary>A clock that moves one millisecond at every read.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _now;

        public long Reads => _now / TimeSpan.TicksPerMillisecond;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _now, TimeSpan.TicksPerMillisecond);
    }
}
