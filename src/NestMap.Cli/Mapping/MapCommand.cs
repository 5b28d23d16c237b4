using System.Globalization;
using System.Text.Json;
using NestMap.Mapping.Specs;
using Spectre.Console;

namespace NestMap.Cli.Mapping;

/// <summary><c>nestmap map</c>: maps one input with one spec; the output goes to stdout, the trace to stderr.</summary>
internal static class MapCommand
{
    public static async Task<int> RunAsync(string specPath, string input, bool trace, string traceFormat, bool validate, CancellationToken cancellation)
    {
        CompiledMapping? mapping = SpecFiles.TryCompile(specPath, Console.Error, new MappingOptions { Trace = trace, ValidateOutput = validate });
        if (mapping is null)
        {
            return SpecFiles.InvalidSpec;
        }

        byte[] bytes;
        try
        {
            bytes = input == "-" ? await ReadAllAsync(Console.OpenStandardInput(), mapping.Spec.MaxInputBytes, cancellation) : await File.ReadAllBytesAsync(input, cancellation);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A missing file, a folder, a file we may not read: a usage error, said plainly.
            await Console.Error.WriteLineAsync($"{input}: error {MappingErrorCodes.UnreadableInput}: cannot read the input: {e.Message}");
            return SpecFiles.InvalidSpec;
        }

        MappingResult result = mapping.Map(bytes);
        if (!result.Output.IsEmpty)
        {
            using Stream stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(result.Output, cancellation);
            await stdout.WriteAsync("\n"u8.ToArray(), cancellation);
        }

        if (trace)
        {
            WriteTrace(result, traceFormat);
        }

        foreach (MappingError error in result.Errors)
        {
            await Console.Error.WriteLineAsync($"{input}: error {error}");
        }

        return result.Success ? 0 : SpecFiles.MappingFailed;
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, long limit, CancellationToken cancellation)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellation)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
            {
                break; // The mapping reports the size; reading on would only cost memory.
            }
        }

        return buffer.ToArray();
    }

    private static void WriteTrace(MappingResult result, string format)
    {
        if (format == "json")
        {
            using var writer = new Utf8JsonWriter(Console.OpenStandardError(), new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteStartArray("compatibilityStepsApplied");
            foreach (int step in result.AppliedCompatibilitySteps)
            {
                writer.WriteNumberValue(step);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("fields");
            foreach (FieldTrace trace in result.Traces)
            {
                writer.WriteStartObject();
                writer.WriteString("path", trace.OutputPath);
                writer.WriteString("status", Status(trace.Status));
                writer.WriteString("error", trace.ErrorCode);
                writer.WriteNumber("elapsedMicroseconds", Math.Round(trace.Elapsed.TotalMicroseconds, 1));
                writer.WriteNumber("evaluationSteps", trace.Steps);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            Console.Error.WriteLine();
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (Console.IsErrorRedirected)
        {
            console.Profile.Width = Math.Max(console.Profile.Width, 120);
        }

        var table = new Table().Border(TableBorder.Simple).AddColumns("field", "status", "error", "µs", "eval steps");
        foreach (FieldTrace trace in result.Traces)
        {
            table.AddRow(
                Markup.Escape(trace.OutputPath),
                Status(trace.Status),
                trace.ErrorCode ?? string.Empty,
                trace.Elapsed.TotalMicroseconds.ToString("0.0", CultureInfo.InvariantCulture),
                trace.Steps.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(table);
        string steps = result.AppliedCompatibilitySteps.Count == 0
            ? "none"
            : string.Join(", ", result.AppliedCompatibilitySteps.Select(s => "from " + s.ToString(CultureInfo.InvariantCulture)));
        console.WriteLine("compatibility steps applied: " + steps);
    }

    internal static string Status(FieldStatus status) => status switch
    {
        FieldStatus.Ok => "ok",
        FieldStatus.NoData => "nodata",
        FieldStatus.Defaulted => "defaulted",
        _ => "error",
    };
}
