using System.CommandLine;
using NestMap.Cli.Demo;
using NestMap.Cli.Mapping;

// nestmap: the command tree. Each command's work lives in its own class; this file only declares options.
var seconds = new Option<int>("--seconds") { Description = "How long each scenario runs, in seconds.", DefaultValueFactory = _ => 10 };
var rate = new Option<int>("--rate") { Description = "Writes per second the workload aims for.", DefaultValueFactory = _ => 50_000 };
var output = new Option<DirectoryInfo>("--out") { Description = "Where to write leak.csv and leak.png.", DefaultValueFactory = _ => new DirectoryInfo("nestmap-demo") };
var ttl = new Option<double>("--ttl") { Description = "Session lifetime in seconds: NestMap's sliding expiry, and when the second scenario removes sessions.", DefaultValueFactory = _ => 2.0 };

var leak = new Command("leak", "Runs one session-churn workload against a naive nested Dictionary, a nested ConcurrentDictionary that leaves emptied inner maps behind, and ConcurrentNestedMap with a TTL, each in its own process, sampling memory every 10 ms; writes a CSV and a PNG chart and prints a summary.")
{
    seconds, rate, output, ttl,
};
leak.SetAction((result, cancellation) => LeakDemo.RunAsync(
    new LeakSettings(result.GetValue(seconds), result.GetValue(rate), result.GetValue(ttl)), result.GetValue(output)!, cancellation));

// One scenario in this process; the demo starts it as a child process. Hidden: it is plumbing, not a command for people.
var scenario = new Option<LeakScenarioKind>("--scenario") { Description = "Which structure to run.", Required = true };
var csv = new Option<FileInfo>("--csv") { Description = "Where to write the samples.", Required = true };
var scenarioCommand = new Command("leak-scenario", "Runs one scenario of the leak demo (used by 'demo leak').") { scenario, csv, seconds, rate, ttl };
scenarioCommand.Hidden = true;
scenarioCommand.SetAction((result, cancellation) => LeakScenario.RunChildAsync(
    result.GetValue(scenario), new LeakSettings(result.GetValue(seconds), result.GetValue(rate), result.GetValue(ttl)), result.GetValue(csv)!, cancellation));

var demo = new Command("demo", "Demonstrations of what NestMap fixes.") { leak, scenarioCommand };

// Mapping specs. Exit codes: 0 ok, 1 a mapping (or check, or diff threshold) failed, 2 an invalid spec or usage.
var spec = new Option<FileInfo>("--spec") { Description = "The mapping spec (YAML).", Required = true };
var input = new Option<string>("--input") { Description = "The input JSON file, or - for stdin.", Required = true };
var trace = new Option<bool>("--trace") { Description = "Print the per-field trace on stderr." };
var traceFormat = new Option<string>("--trace-format") { Description = "How to print the trace: table or json.", DefaultValueFactory = _ => "table" };
traceFormat.AcceptOnlyFromAmong("table", "json");
var validate = new Option<bool>("--validate") { Description = "Validate the output against the spec's JSON Schema; a violation fails the mapping." };
var map = new Command("map", "Maps one input with a spec: the output JSON on stdout, errors (and the trace) on stderr. Exit 0 ok, 1 the mapping failed, 2 invalid spec or usage.")
{
    spec, input, trace, traceFormat, validate,
};
map.SetAction((result, cancellation) => MapCommand.RunAsync(
    result.GetValue(spec)!.ToString(), result.GetValue(input)!, result.GetValue(trace), result.GetValue(traceFormat)!, result.GetValue(validate), cancellation));

var checkPaths = new Argument<string[]>("paths") { Description = "Spec files or folders (searched for *.yaml and *.yml).", Arity = ArgumentArity.OneOrMore };
var check = new Command("check", "Compiles every spec; for each X.yaml maps every sample in X.samples/*.json, validates the output against the spec's schema, and compares it with NAME.expected.json where present. Exit 0 all passed, 1 a sample failed, 2 a spec is invalid.")
{
    checkPaths,
};
check.SetAction(result => CheckCommand.Run(result.GetValue(checkPaths)!, Console.Out, Console.Error));

var oldSpec = new Option<FileInfo>("--old") { Description = "The old version of the spec.", Required = true };
var newSpec = new Option<FileInfo>("--new") { Description = "The new version of the spec.", Required = true };
var inputs = new Option<DirectoryInfo>("--inputs") { Description = "A folder of input JSON files.", Required = true };
var maxRate = new Option<double?>("--max-diff-rate") { Description = "Exit 1 when more than this share (0 to 1) of the (input, field) values differ." };
var diff = new Command("diff", "Maps every input with two versions of a spec and reports, per output field, the differences by kind (value, type, null-vs-missing, missing, extra) and the overall rate.")
{
    oldSpec, newSpec, inputs, maxRate,
};
diff.SetAction(result => DiffCommand.Run(
    result.GetValue(oldSpec)!.ToString(), result.GetValue(newSpec)!.ToString(), result.GetValue(inputs)!.ToString(), result.GetValue(maxRate), Console.Out, Console.Error));

var sbomPaths = new Argument<string[]>("paths") { Description = "Spec files or folders (searched for *.yaml and *.yml).", Arity = ArgumentArity.OneOrMore };
var sbomOut = new Option<FileInfo?>("--out") { Description = "Where to write the manifest; stdout when absent." };
var sbom = new Command("sbom", "Writes a CycloneDX 1.6 JSON manifest of mapping specs: one component per spec (id, version, SHA-256) with the engine version and each spec's sandbox as properties.")
{
    sbomPaths, sbomOut,
};
sbom.SetAction(result => SbomCommand.Run(result.GetValue(sbomPaths)!, result.GetValue(sbomOut)?.FullName, TimeProvider.System, Console.Out, Console.Error));

var root = new RootCommand("nestmap: demos and tools for NestMap: safe nested maps and JSON mappings for .NET.") { demo, map, check, diff, sbom };
ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Usage errors exit with 2, as invalid specs do: 1 means "the work ran and failed".
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync("error: " + error.Message);
    }

    await Console.Error.WriteLineAsync("Run with --help for usage.");
    return SpecFiles.InvalidSpec;
}

return await parsed.InvokeAsync();
