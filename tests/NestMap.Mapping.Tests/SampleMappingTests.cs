using System.Text.Json;
using NestMap.Mapping.Specs;

namespace NestMap.Mapping.Tests;

/// <summary>
/// Golden tests over <c>samples/mappings</c>: every sample maps, satisfies its spec's schema, and equals its
/// <c>NAME.expected.json</c>, members in the same order.
/// </summary>
public sealed class SampleMappingTests
{
    private static readonly string s_folder = Path.Combine(SharedFiles.RepositoryRoot, "samples", "mappings");

    /// <summary>Every (spec, sample) pair, as paths relative to <c>samples/mappings</c>.</summary>
    public static TheoryData<string, string> Samples()
    {
        var data = new TheoryData<string, string>();
        foreach (string spec in Specs())
        {
            foreach (string sample in SampleInputs(spec))
            {
                data.Add(Path.GetFileName(spec), Path.GetRelativePath(s_folder, sample).Replace('\\', '/'));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_MapsToItsExpectedOutput(string spec, string sample)
    {
        CompiledMapping mapping = Compile(spec, new MappingOptions { ValidateOutput = true });
        string expectedPath = Path.Combine(s_folder, sample[..^".json".Length] + ".expected.json");

        MappingResult result = mapping.Map(File.ReadAllBytes(Path.Combine(s_folder, sample)));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.True(File.Exists(expectedPath), $"{sample} has no expected output");
        using var expected = JsonDocument.Parse(File.ReadAllBytes(expectedPath));
        using var actual = JsonDocument.Parse(result.Output);
        Assert.True(JsonAssert.DeepEqual(expected.RootElement, actual.RootElement), $"{sample}\nexpected: {expected.RootElement}\nactual:   {result.OutputText}");
        Assert.Equal(MemberOrder(expected.RootElement), MemberOrder(actual.RootElement));
    }

    [Fact]
    public void Samples_CoverAtLeastThreeSpecs_EachWithSamples_AndNoWarnings()
    {
        string[] specs = Specs();

        Assert.True(specs.Length >= 3, $"{specs.Length} specs in samples/mappings");
        foreach (string spec in specs)
        {
            Assert.True(SampleInputs(spec).Length >= 2, $"{spec} has fewer than two samples");
            Assert.Empty(MappingSpec.Load(spec).Warnings);
        }
    }

    [Theory]
    [InlineData("order.samples/v1-shipping-type.json", new[] { 1 }, "EXPRESS")]
    [InlineData("order.samples/v1-no-shipping-type.json", new[] { 1 }, "STANDARD")]
    [InlineData("order.samples/v2-express.json", new int[0], "EXPRESS")]
    public void OrderSamples_CompatibilityStepAppliesOnlyToV1Inputs(string sample, int[] applied, string method)
    {
        CompiledMapping mapping = Compile("order.yaml", new MappingOptions { Trace = true });

        MappingResult result = mapping.Map(File.ReadAllBytes(Path.Combine(s_folder, sample)));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(applied, result.AppliedCompatibilitySteps);
        using var output = JsonDocument.Parse(result.Output);
        Assert.Equal(method, output.RootElement.GetProperty("shipping").GetProperty("method").GetString());
    }

    [Fact]
    public void ProfileSample_MissingIdentityProvider_FallsBackToCrm_AndDefaultsWhatNeitherHas()
    {
        CompiledMapping mapping = Compile("profile.yaml", new MappingOptions { Trace = true });

        MappingResult result = mapping.Map(File.ReadAllBytes(Path.Combine(s_folder, "profile.samples", "crm-only.json")));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Dictionary<string, FieldStatus> status = result.Traces.ToDictionary(t => t.OutputPath, t => t.Status);
        Assert.Equal(FieldStatus.Defaulted, status["emailVerified"]);
        Assert.Equal(FieldStatus.Ok, status["displayName"]);

        // An explicit null consent in the CRM is kept by '??' (only a missing value falls back).
        Assert.Equal(FieldStatus.Ok, status["marketingOptIn"]);
        using var output = JsonDocument.Parse(result.Output);
        Assert.Equal(JsonValueKind.Null, output.RootElement.GetProperty("marketingOptIn").ValueKind);
    }

    [Fact]
    public void ProfileSpec_NoEmailAnywhere_FailsAsRequired()
    {
        CompiledMapping mapping = Compile("profile.yaml");

        MappingResult result = mapping.Map("""{"idp": {"sub": "x"}}"""u8.ToArray());

        Assert.False(result.Success);
        MappingError error = Assert.Single(result.Errors);
        Assert.Equal(MappingErrorCodes.RequiredFieldMissing, error.Code);
        Assert.Equal("email", error.Field);
    }

    [Fact]
    public void PaymentSpec_UnknownStatus_IsPending_AndAMissingTimestampBreaksTheSchema()
    {
        CompiledMapping mapping = Compile("payment.yaml", new MappingOptions { ValidateOutput = true });

        MappingResult result = mapping.Map("""
            {"event": {"id": "e1", "created": 1},
             "payment": {"id": "p1", "status": "requires_action", "amount_minor": 1, "currency": "gbp"}}
            """u8.ToArray());

        Assert.False(result.Success);
        Assert.Equal(MappingErrorCodes.SchemaViolation, Assert.Single(result.Errors).Code);
        using var output = JsonDocument.Parse(result.Output);
        Assert.Equal("PENDING", output.RootElement.GetProperty("status").GetString());
        Assert.Equal(0.01, output.RootElement.GetProperty("amount").GetProperty("value").GetDouble());
        Assert.Equal("GBP", output.RootElement.GetProperty("amount").GetProperty("currency").GetString());
        Assert.False(output.RootElement.TryGetProperty("fee", out _), "a missing fee is left out, not an error");
    }

    private static CompiledMapping Compile(string spec, MappingOptions? options = null) =>
        MappingCompiler.Compile(MappingSpec.Load(Path.Combine(s_folder, spec)), options);

    private static string[] Specs() =>
        [.. Directory.EnumerateFiles(s_folder, "*.yaml").Order(StringComparer.Ordinal)];

    private static string[] SampleInputs(string spec)
    {
        string folder = Path.Combine(s_folder, Path.GetFileNameWithoutExtension(spec) + ".samples");
        return Directory.Exists(folder)
            ? [.. Directory.EnumerateFiles(folder, "*.json").Where(f => !f.EndsWith(".expected.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>The property names of every object, depth first, in document order.</summary>
    private static List<string> MemberOrder(JsonElement element)
    {
        var names = new List<string>();
        Walk(element);
        return names;

        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in e.EnumerateObject())
                {
                    names.Add(property.Name);
                    Walk(property.Value);
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in e.EnumerateArray())
                {
                    Walk(item);
                }
            }
        }
    }
}
