using NestMap.Mapping.Specs;

namespace NestMap.Mapping.Tests;

/// <summary>Spec loading is strict: every problem is reported with its code, line and column.</summary>
public sealed class SpecLoadingTests
{
    private const string Valid = """
        mapping: order
        version: 2
        description: Unified order contract
        policy:
          roots: [order, user]
          maxDepth: 5
          functions: [join, length, sum, not_null]
        fields:
          id: order.id
          customer.name: order.customer.name
          customer.city:
            expr: user.profile.address.city
            default: UNKNOWN
          total:
            expr: sum(order.items[].price)
            required: true
          greeting:
            template: "Hello {{ user.profile.name }}!"
          '"x.y".z': order.id
        compatibility:
          - from: 1
            transform:
              order.shipping_method: "{code: $.order.shipping_type || 'STANDARD'}"
        """;

    private static MappingDiagnostic Single(string yaml)
    {
        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Parse(yaml, "spec.yaml"));
        return Assert.Single(e.Diagnostics);
    }

    private static MappingDiagnostic Find(string yaml, string code)
    {
        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Parse(yaml, "spec.yaml"));
        return Assert.Single(e.Diagnostics, d => d.Code == code);
    }

    [Fact]
    public void ValidSpec_IsReadCompletely()
    {
        MappingSpec spec = MappingSpec.Parse(Valid, "order.yaml");

        Assert.Equal("order", spec.Id);
        Assert.Equal(2, spec.Version);
        Assert.Equal(["order", "user"], spec.Policy.AllowedRoots);
        Assert.Equal(["id", "customer.name", "customer.city", "total", "greeting", "\"x.y\".z"], spec.Fields.Select(f => f.OutputPath));
        Assert.Equal(["x.y", "z"], spec.Fields[5].Segments);
        Assert.Equal("UNKNOWN", spec.Fields[2].Default!.GetValue<string>());
        Assert.True(spec.Fields[3].Required);
        Assert.Equal("Hello {{ user.profile.name }}!", spec.Fields[4].Template);
        CompatibilityStep step = Assert.Single(spec.Compatibility);
        Assert.Equal(1, step.From);
        Assert.Equal(["order", "shipping_method"], Assert.Single(step.Transforms).Segments);
        Assert.Equal(64, spec.Sha256.Length);
        Assert.Empty(spec.Warnings);
    }

    [Theory]
    [InlineData("mapping: a\nversion: 1\nfeilds:\n  x: y\n", MappingErrorCodes.UnknownKey, 3, 1, "did you mean 'fields'?")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x:\n    exp: y\n", MappingErrorCodes.UnknownKey, 5, 5, "did you mean 'expr'?")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x:\n    exrp: y\n", MappingErrorCodes.UnknownKey, 5, 5, "did you mean 'expr'?")]
    [InlineData("mapping: a\nversion: 1\nversion: 2\nfields:\n  x: y\n", MappingErrorCodes.DuplicateKey, 3, 1, "duplicate key 'version'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x: y\n  x: z\n", MappingErrorCodes.DuplicateKey, 5, 3, "duplicate field 'x'")]
    [InlineData("mapping: a\nversion: two\nfields:\n  x: y\n", MappingErrorCodes.WrongType, 2, 10, "'version' is a whole number")]
    [InlineData("mapping: a\nversion: 1\nfields: [x]\n", MappingErrorCodes.WrongType, 3, 9, "'fields' is a mapping")]
    [InlineData("version: 1\nfields:\n  x: y\n", MappingErrorCodes.MissingKey, 1, 1, "missing required key 'mapping'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x:\n    default: 1\n", MappingErrorCodes.MissingKey, 5, 5, "exactly one of 'expr' and 'template'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  a..b: y\n", MappingErrorCodes.InvalidOutputPath, 4, 3, "invalid output path 'a..b'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  a: y\n  a.b: z\n", MappingErrorCodes.ConflictingOutputPaths, 5, 3, "writes inside the value of field 'a'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  a.b: y\n  '\"a\".b': z\n", MappingErrorCodes.ConflictingOutputPaths, 5, 3, "writes the same output as 'a.b'")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x: [y\n", MappingErrorCodes.YamlSyntax, 5, 1, "invalid YAML")]
    [InlineData("mapping: a\nversion: 2\nfields:\n  x: y\ncompatibility:\n  - from: 2\n    transform: {a: b}\n", MappingErrorCodes.InvalidCompatibility, 6, 11, "must be below")]
    [InlineData("mapping: a\nversion: 1\npolicy:\n  functions: [lenght]\nfields:\n  x: y\n", MappingErrorCodes.UnknownKey, 4, 14, "did you mean 'length'?")]
    [InlineData("mapping: a\nversion: 1\nfields:\n  x:\n    expr: y\n    required: yes\n", MappingErrorCodes.WrongType, 6, 15, "true or false")]
    public void InvalidSpecs_AreReportedWithCodeAndPlace(string yaml, string code, int line, int column, string message)
    {
        MappingDiagnostic d = Find(yaml, code);

        Assert.Equal((line, column), (d.Line, d.Column));
        Assert.Contains(message, d.Message, StringComparison.Ordinal);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.StartsWith($"spec.yaml({line},{column}): error {code}: ", d.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AllProblems_AreReportedTogether()
    {
        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Parse("mapping: a\nversoin: 1\nfields:\n  x:\n    expr: y\n    requird: true\n"));

        Assert.Equal(
            [(MappingErrorCodes.MissingKey, 1), (MappingErrorCodes.UnknownKey, 2), (MappingErrorCodes.UnknownKey, 6)],
            e.Diagnostics.Select(d => (d.Code, d.Line)));
    }

    [Fact]
    public void AliasBomb_IsRefused()
    {
        var yaml = new System.Text.StringBuilder("mapping: a\nversion: 1\nbomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 12; i++)
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"  a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Parse(yaml.ToString()));

        Assert.Contains(e.Diagnostics, d => d.Code == MappingErrorCodes.SpecTooLarge && d.Message.Contains("aliases", StringComparison.Ordinal));
    }

    [Fact]
    public void DefaultExpandingThroughAliases_IsBounded()
    {
        var yaml = new System.Text.StringBuilder("mapping: a\nversion: 1\nx0: &x0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
        for (int i = 1; i < 6; i++)
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"x{i}: &x{i} [*x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}]\n");
        }

        yaml.Append("fields:\n  f:\n    expr: a\n    default: *x5\n");

        MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Parse(yaml.ToString()));

        Assert.Contains(e.Diagnostics, d => d.Code == MappingErrorCodes.SpecTooLarge && d.Message.Contains("default value expands", StringComparison.Ordinal));
    }

    [Fact]
    public void HugeAndDeepSpecs_AreRefused()
    {
        MappingDiagnostic big = Single("mapping: a\nversion: 1\nfields:\n  x: '" + new string('y', MappingSpec.MaxSpecBytes) + "'\n");
        Assert.Equal(MappingErrorCodes.SpecTooLarge, big.Code);

        MappingDiagnostic deep = Single("mapping: a\nversion: 1\nfields:\n  x:\n    expr: y\n    default: " + new string('[', 10_000) + new string(']', 10_000) + "\n");
        Assert.Equal(MappingErrorCodes.SpecTooLarge, deep.Code);
    }

    [Theory]
    [InlineData("order.shipping_type || \"STANDARD\"")]
    [InlineData("order.kind == \"retail\"")]
    [InlineData("order.a ?? \"x\"")]
    public void QuotedIdentifierWhereAStringWasMeant_IsAWarning(string expression)
    {
        MappingSpec spec = MappingSpec.Parse($"mapping: a\nversion: 1\nfields:\n  x: '{expression}'\n");

        MappingDiagnostic warning = Assert.Single(spec.Warnings);
        Assert.Equal(MappingErrorCodes.QuotedIdentifierLint, warning.Code);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal((4, 6), (warning.Line, warning.Column));
    }

    [Theory]
    [InlineData("order.\"shipping-type\"")]
    [InlineData("order.a || 'STANDARD'")]
    [InlineData("\"weird key\".value == 'x'")]
    public void QuotedIdentifiersUsedAsFields_AreNotWarnedAbout(string expression)
    {
        MappingSpec spec = MappingSpec.Parse($"mapping: a\nversion: 1\nfields:\n  x: |-\n    {expression}\n");

        Assert.Empty(spec.Warnings);
    }

    [Fact]
    public void Load_ReadsAFileAndNamesIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nestmap-spec-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "mapping: a\nversion: 1\nfields:\n  x: y\n  x: z\n");
        try
        {
            MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingSpec.Load(path));
            Assert.Equal(path, Assert.Single(e.Diagnostics).Source);

            MappingDiagnostic missing = Assert.Single(Assert.Throws<MappingSpecException>(() => MappingSpec.Load(path + ".absent")).Diagnostics);
            Assert.Equal(MappingErrorCodes.UnreadableSpec, missing.Code);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
