using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;

namespace NestMap.Tests;

/// <summary>
/// <c>nestmap map | check | diff | sbom</c>, run as a process from the repository root, as a CI pipeline runs them:
/// exit codes (0 ok, 1 the work ran and failed, 2 invalid spec or usage), stdout and stderr.
/// </summary>
public sealed class MappingCliTests
{
    private const string OrderSpec = "samples/mappings/order.yaml";

    private static readonly string s_root = FindRepositoryRoot();

    [Fact]
    public async Task Map_ValidInput_WritesTheOutputOnStdout_AndExitsZero()
    {
        var (exit, output, error) = await RunAsync(["map", "--spec", OrderSpec, "--input", "samples/mappings/order.samples/v2-express.json", "--validate"]);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        Assert.Equal(string.Empty, error);
        Assert.Equal(
            """{"id":"ORD-2024-0042","customer":{"name":"Ada Lovelace","city":"London"},"total":28.25,"itemCount":2,"items":[{"sku":"BK-001","qty":2},{"sku":"PEN-07","qty":1}],"greeting":"Hello Ada!","shipping":{"method":"EXPRESS","carrier":"DHL"}}""",
            output.TrimEnd('\n'));
    }

    [Fact]
    public async Task Map_InputThatCannotBeRead_ExitsTwo_WithAMessage()
    {
        var (folder, _, folderError) = await RunAsync(["map", "--spec", OrderSpec, "--input", "samples/mappings"]);
        var (missing, _, missingError) = await RunAsync(["map", "--spec", OrderSpec, "--input", "samples/mappings/absent.json"]);

        Assert.Equal(2, folder);
        Assert.Contains("samples/mappings: error NM109: cannot read the input", folderError, StringComparison.Ordinal);
        Assert.Equal(2, missing);
        Assert.Contains("absent.json: error NM109: cannot read the input", missingError, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", folderError + missingError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_InputFromStdin_IsMapped()
    {
        var (exit, output, error) = await RunAsync(
            ["map", "--spec", OrderSpec, "--input", "-"],
            stdin: """{"order": {"id": "S-1", "items": [], "shipping_type": "pickup"}}""");

        Assert.True(exit == 0, $"exit {exit}: {error}");
        using var json = JsonDocument.Parse(output);
        Assert.Equal("S-1", json.RootElement.GetProperty("id").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("total").GetDouble());
        Assert.Equal("PICKUP", json.RootElement.GetProperty("shipping").GetProperty("method").GetString());
    }

    [Fact]
    public async Task Map_RequiredFieldMissing_ExitsOne_AndNamesTheCodeAndField()
    {
        var (exit, _, error) = await RunAsync(
            ["map", "--spec", OrderSpec, "--input", "-"],
            stdin: """{"order": {"items": []}}""");

        Assert.Equal(1, exit);
        Assert.Contains("-: error NM105 id: the field is required", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_InputNotJson_ExitsOne_WithNM101()
    {
        var (exit, output, error) = await RunAsync(["map", "--spec", OrderSpec, "--input", "-"], stdin: "{not json");

        Assert.Equal(1, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("error NM101: the input is not valid JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_Validate_SchemaViolation_ExitsOne_WithNM107()
    {
        // A v2 input with a shipping method outside the schema's enum: the mapping works, the schema gate refuses it.
        const string input = """{"order": {"id": "V-1", "items": [], "shipping_method": {"code": "DRONE"}}}""";

        var (withoutValidation, _, _) = await RunAsync(["map", "--spec", OrderSpec, "--input", "-"], stdin: input);
        var (exit, _, error) = await RunAsync(["map", "--spec", OrderSpec, "--input", "-", "--validate"], stdin: input);

        Assert.Equal(0, withoutValidation);
        Assert.Equal(1, exit);
        Assert.Contains("error NM107", error, StringComparison.Ordinal);
        Assert.Contains("#/shipping.method", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_InvalidSpec_ExitsTwo_WithFileLineColumnAndDidYouMean()
    {
        string folder = CreateFolder();
        try
        {
            string spec = Path.Combine(folder, "typo.yaml");
            File.WriteAllText(spec, "mapping: typo\nversion: 1\nfields:\n  id: order.id\n  total:\n    expr: order.total\n    defualt: 0\n");

            var (exit, output, error) = await RunAsync(["map", "--spec", spec, "--input", "-"], stdin: "{}");

            Assert.Equal(2, exit);
            Assert.Equal(string.Empty, output);
            Assert.Contains($"{spec}(7,5): error NM002: unknown key 'defualt' in field 'total'; did you mean 'default'?", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Map_MissingOption_IsAUsageError_ExitingTwo()
    {
        var (exit, output, error) = await RunAsync(["map", "--spec", OrderSpec]);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("--input", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_TraceJson_ListsEveryFieldWithItsStatus_AndTheAppliedSteps()
    {
        var (exit, output, error) = await RunAsync(
            ["map", "--spec", OrderSpec, "--input", "samples/mappings/order.samples/v1-no-shipping-type.json", "--trace", "--trace-format", "json"]);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        using (JsonDocument.Parse(output))
        {
            // The output on stdout is JSON on its own: the trace went to stderr.
        }

        using var trace = JsonDocument.Parse(error);
        Assert.Equal([1], trace.RootElement.GetProperty("compatibilityStepsApplied").EnumerateArray().Select(e => e.GetInt32()));
        var fields = trace.RootElement.GetProperty("fields").EnumerateArray()
            .ToDictionary(f => f.GetProperty("path").GetString()!, f => f.GetProperty("status").GetString());
        Assert.Equal(
            ["id", "customer.name", "customer.city", "total", "itemCount", "items", "greeting", "shipping.method", "shipping.carrier"],
            fields.Keys);
        Assert.Equal("ok", fields["customer.name"]); // an explicit null is a value
        Assert.Equal("defaulted", fields["customer.city"]);
        Assert.Equal("nodata", fields["greeting"]);
        Assert.Equal("ok", fields["shipping.method"]); // supplied by the compatibility step
        Assert.All(trace.RootElement.GetProperty("fields").EnumerateArray(), f =>
        {
            Assert.Equal(JsonValueKind.Null, f.GetProperty("error").ValueKind);
            Assert.True(f.GetProperty("elapsedMicroseconds").GetDouble() >= 0);
        });
    }

    [Fact]
    public async Task Map_TraceJson_FailedField_CarriesItsCode()
    {
        var (exit, _, error) = await RunAsync(
            ["map", "--spec", OrderSpec, "--input", "-", "--trace", "--trace-format", "json"],
            stdin: """{"order": {"id": "T-1", "items": [{"sku": "A", "quantity": 2, "price": "9.99"}]}}""");

        Assert.Equal(1, exit);
        string json = error[..(error.LastIndexOf("\n}", StringComparison.Ordinal) + 2)];
        using var trace = JsonDocument.Parse(json);
        JsonElement total = trace.RootElement.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("path").GetString() == "total");
        Assert.Equal("error", total.GetProperty("status").GetString());
        Assert.Equal("NM106", total.GetProperty("error").GetString());
        Assert.Contains("error NM106 total: NESTMAP102 invalid-type", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_TraceTable_ShowsFieldsStatusesAndSteps()
    {
        var (exit, _, error) = await RunAsync(
            ["map", "--spec", OrderSpec, "--input", "samples/mappings/order.samples/v1-shipping-type.json", "--trace"]);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        string[] rows = error.Split('\n');
        Assert.Contains(rows, r => Cells(r) is ["customer.city", "defaulted", _, _]);
        Assert.Contains(rows, r => Cells(r) is ["shipping.carrier", "nodata", _, _]);
        Assert.Contains(rows, r => Cells(r) is ["total", "ok", _, "4"]);
        Assert.Contains("compatibility steps applied: from 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_Samples_Pass()
    {
        var (exit, output, error) = await RunAsync(["check", "samples/mappings"]);

        Assert.True(exit == 0, $"exit {exit}: {output}\n{error}");
        Assert.Contains("ok   samples/mappings/order.yaml: order v2, 3 sample(s)", output, StringComparison.Ordinal);
        Assert.Contains("0 invalid spec(s), 0 failed sample(s)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_FailingSamples_ExitOne_AndNameEachFileAndPlace()
    {
        string folder = CreateFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "orders.yaml"), "mapping: orders\nversion: 1\nfields:\n  id: order.id\n  total:\n    expr: order.total\n    required: true\n");
            Directory.CreateDirectory(Path.Combine(folder, "orders.samples"));
            File.WriteAllText(Path.Combine(folder, "orders.samples", "good.json"), """{"order": {"id": "A", "total": 1}}""");
            File.WriteAllText(Path.Combine(folder, "orders.samples", "good.expected.json"), """{"id": "A", "total": 1.0}""");
            File.WriteAllText(Path.Combine(folder, "orders.samples", "no-total.json"), """{"order": {"id": "B"}}""");
            File.WriteAllText(Path.Combine(folder, "orders.samples", "wrong.json"), """{"order": {"id": "C", "total": 3}}""");
            File.WriteAllText(Path.Combine(folder, "orders.samples", "wrong.expected.json"), """{"id": "C", "total": 4}""");

            var (exit, output, _) = await RunAsync(["check", folder]);

            Assert.Equal(1, exit);
            string samples = Path.Combine(folder, "orders.samples");
            Assert.Contains($"FAIL {Path.Combine(samples, "no-total.json")}: NM105 total:", output, StringComparison.Ordinal);
            Assert.Contains($"FAIL {Path.Combine(samples, "wrong.json")}: the output differs from wrong.expected.json at $.total: expected 4, got 3", output, StringComparison.Ordinal);
            Assert.DoesNotContain("good.json", output, StringComparison.Ordinal);
            Assert.Contains("1 spec(s), 3 sample(s): 0 invalid spec(s), 2 failed sample(s)", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Check_InvalidSpec_ExitsTwo_AndPrintsItsDiagnostics()
    {
        string folder = CreateFolder();
        try
        {
            string spec = Path.Combine(folder, "broken.yaml");
            File.WriteAllText(spec, "mapping: broken\nversion: 1\npolicy:\n  roots: [order]\nfields:\n  id: user.id\n");

            var (exit, output, error) = await RunAsync(["check", folder]);

            Assert.Equal(2, exit);
            Assert.Contains($"FAIL {spec}: the spec is invalid", output, StringComparison.Ordinal);
            Assert.Contains($"{spec}(6,3): error NM009: field 'id': NESTMAP108 policy", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Check_NoSuchPath_ExitsTwo()
    {
        var (exit, _, error) = await RunAsync(["check", "no/such/folder"]);

        Assert.Equal(2, exit);
        Assert.Contains("no/such/folder: error NM013: no such file or folder", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_CountsEachKindOfDifferencePerField()
    {
        string folder = CreateDiffFolder();
        try
        {
            var (exit, output, error) = await RunAsync(DiffArguments(folder));

            Assert.True(exit == 0, $"exit {exit}: {error}");
            Dictionary<string, int[]> rows = output.Split('\n').Select(Cells).Where(c => c.Length == 7)
                .Where(c => c[0] != "field")
                .ToDictionary(c => c[0], c => c[1..].Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray());

            //                   value type null-vs-missing missing extra error
            Assert.Equal([0, 2, 0, 0, 0, 0], rows["total"]);
            Assert.Equal([0, 0, 1, 0, 0, 0], rows["note"]);
            Assert.Equal([0, 0, 0, 1, 0, 0], rows["legacy"]);
            Assert.Equal([0, 0, 0, 0, 1, 0], rows["channel"]);
            Assert.Equal([1, 0, 0, 0, 0, 0], rows["status"]);
            Assert.False(rows.ContainsKey("id"), "a field that never differs has no row");
            Assert.Contains("2 input(s) x 6 field(s): 6 of 12 field values differ (rate 0.5)", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("0.49", 1)]
    [InlineData("0.5", 0)]
    [InlineData("1", 0)]
    public async Task Diff_MaxDiffRate_FailsOnlyWhenTheRateExceedsIt(string limit, int expectedExit)
    {
        string folder = CreateDiffFolder();
        try
        {
            var (exit, _, error) = await RunAsync([.. DiffArguments(folder), "--max-diff-rate", limit]);

            Assert.Equal(expectedExit, exit);
            if (expectedExit == 1)
            {
                Assert.Contains($"error: the difference rate 0.5 exceeds --max-diff-rate {limit}", error, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(string.Empty, error);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Diff_SameSpec_HasNoDifferences_EvenUnderAZeroLimit()
    {
        string folder = CreateDiffFolder();
        try
        {
            string old = Path.Combine(folder, "old.yaml");
            var (exit, output, _) = await RunAsync(["diff", "--old", old, "--new", old, "--inputs", Path.Combine(folder, "inputs"), "--max-diff-rate", "0"]);

            Assert.Equal(0, exit);
            Assert.Contains("0 of 10 field values differ (rate 0)", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Sbom_OfTheSamples_IsValidCycloneDx16()
    {
        string schemaPath = Path.GetFullPath(Path.Combine(s_root, "..", "shared", "schemas", "cyclonedx", "bom-1.6.schema.json"));
        if (!File.Exists(schemaPath))
        {
            Assert.Skip($"The CycloneDX 1.6 schema is not at {schemaPath} (../shared is not beside the repository).");
        }

        var (exit, output, error) = await RunAsync(["sbom", "samples/mappings"]);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        JsonSchema schema = await JsonSchema.FromFileAsync(schemaPath, TestContext.Current.CancellationToken);
        ICollection<ValidationError> errors = schema.Validate(output);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind}")));

        // The schema does check: the same manifest with a component type CycloneDX does not know is refused.
        string broken = output.Replace("\"type\": \"data\"", "\"type\": \"mapping\"", StringComparison.Ordinal);
        Assert.NotEqual(output, broken);
        Assert.NotEmpty(schema.Validate(broken));

        using var bom = JsonDocument.Parse(output);
        JsonElement[] components = [.. bom.RootElement.GetProperty("components").EnumerateArray()];
        Assert.Equal(["order", "payment-event", "user-profile"], components.Select(c => c.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        JsonElement order = components.Single(c => c.GetProperty("name").GetString() == "order");
        Assert.Equal("2", order.GetProperty("version").GetString());
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(s_root, OrderSpec))));
        Assert.Equal(sha256, order.GetProperty("hashes")[0].GetProperty("content").GetString());
        Dictionary<string, string?> properties = order.GetProperty("properties").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("value").GetString());
        Assert.Equal("order,user", properties["nestmap:policy:roots"]);
        Assert.Equal("length,map,sum,upper", properties["nestmap:policy:functions"]);
        Assert.Equal("5", properties["nestmap:policy:max-depth"]);
        Assert.True(properties.ContainsKey("nestmap:engine-version"));
    }

    [Fact]
    public async Task Sbom_Out_WritesTheFile_AndReportsIt()
    {
        string folder = CreateFolder();
        try
        {
            string path = Path.Combine(folder, "bom.json");

            var (exit, output, error) = await RunAsync(["sbom", OrderSpec, "--out", path]);

            Assert.True(exit == 0, $"exit {exit}: {error}");
            Assert.Equal($"wrote {path}: 1 mapping spec(s)", output.TrimEnd('\n'));
            using var bom = JsonDocument.Parse(File.ReadAllBytes(path));
            Assert.Equal("CycloneDX", bom.RootElement.GetProperty("bomFormat").GetString());
            Assert.Equal("1.6", bom.RootElement.GetProperty("specVersion").GetString());
            Assert.Single(bom.RootElement.GetProperty("components").EnumerateArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Sbom_InvalidSpec_ExitsTwo()
    {
        string folder = CreateFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "bad.yaml"), "mapping: bad\nversion: one\nfields: {}\n");

            var (exit, output, error) = await RunAsync(["sbom", folder]);

            Assert.Equal(2, exit);
            Assert.Equal(string.Empty, output);
            Assert.Contains("error NM004: 'version' is a whole number, not 'one'", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Two versions of a spec and two inputs with one difference of each kind: <c>total</c> changes type on both
    /// inputs, <c>note</c> is null in the new version where the old left it out, <c>legacy</c> is gone, <c>channel</c>
    /// is new, <c>status</c> changes value on one input; <c>id</c> is the same. Six fields, two inputs: rate 6/12.
    /// </summary>
    private static string CreateDiffFolder()
    {
        string folder = CreateFolder();
        Directory.CreateDirectory(Path.Combine(folder, "inputs"));
        File.WriteAllText(Path.Combine(folder, "old.yaml"), """
            mapping: orders
            version: 1
            fields:
              id: order.id
              total: order.total
              note: order.note
              legacy: order.code
              status: order.status
            """);
        File.WriteAllText(Path.Combine(folder, "new.yaml"), """
            mapping: orders
            version: 2
            fields:
              id: order.id
              total: to_string(order.total)
              note: order.note ?? `null`
              channel: order.channel
              status: upper(order.status)
            """);
        File.WriteAllText(Path.Combine(folder, "inputs", "a.json"), """{"order": {"id": "A", "total": 3, "code": "x", "channel": "web", "status": "OPEN"}}""");
        File.WriteAllText(Path.Combine(folder, "inputs", "b.json"), """{"order": {"id": "B", "total": 4, "note": "hi", "status": "open"}}""");
        return folder;
    }

    private static string[] DiffArguments(string folder) =>
        ["diff", "--old", Path.Combine(folder, "old.yaml"), "--new", Path.Combine(folder, "new.yaml"), "--inputs", Path.Combine(folder, "inputs")];

    private static string CreateFolder() => Directory.CreateTempSubdirectory("nestmap-cli-").FullName;

    /// <summary>The cells of a table row as Spectre.Console draws it (cells separated by runs of spaces).</summary>
    private static string[] Cells(string row) => row.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string[] arguments, string? stdin = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = s_root,
        };
        start.ArgumentList.Add(CliPath());
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, (await output).Replace("\r\n", "\n", StringComparison.Ordinal), (await error).Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    /// <summary>The CLI as built next to this test build (same configuration); the project reference makes sure it is built.</summary>
    private static string CliPath()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string path = Path.Combine(s_root, "src", "NestMap.Cli", "bin", configuration, "net10.0", "NestMap.Cli.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException("NestMap.Cli.dll not found; build the solution first.");
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NestMap.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NestMap.slnx not found above the test output folder.");
    }
}
