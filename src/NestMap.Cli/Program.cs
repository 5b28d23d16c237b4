using System.CommandLine;
using NestMap.Cli.Demo;

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
var root = new RootCommand("nestmap: demos and tools for NestMap, safe nested maps for .NET.") { demo };
return await root.Parse(args).InvokeAsync();
