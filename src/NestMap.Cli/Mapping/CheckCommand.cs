using System.Text.Json;
using NestMap.Mapping.Specs;

namespace NestMap.Cli.Mapping;

/// <summary>
/// <c>nestmap check</c>: the CI gate. Compiles every spec; for each spec <c>X.yaml</c> maps every sample in
/// <c>X.samples/*.json</c>, validates the output against the spec's schema and compares it with
/// <c>X.samples/NAME.expected.json</c> where that exists.
/// </summary>
internal static class CheckCommand
{
    public static int Run(IReadOnlyList<string> paths, TextWriter output, TextWriter errors)
    {
        List<string> specs = SpecFiles.Find(paths, errors, out bool missing);
        if (specs.Count == 0)
        {
            errors.WriteLine($"error {MappingErrorCodes.UnreadableSpec}: no spec files (*.yaml, *.yml) found");
            return SpecFiles.InvalidSpec;
        }

        int invalid = missing ? 1 : 0, failed = 0, samples = 0;
        foreach (string specPath in specs)
        {
            CompiledMapping? mapping = SpecFiles.TryCompile(specPath, errors, new MappingOptions { ValidateOutput = true });
            if (mapping is null)
            {
                output.WriteLine($"FAIL {specPath}: the spec is invalid");
                invalid++;
                continue;
            }

            string folder = Path.Combine(Path.GetDirectoryName(specPath) ?? ".", Path.GetFileNameWithoutExtension(specPath) + ".samples");
            string[] inputs = Directory.Exists(folder)
                ? [.. Directory.EnumerateFiles(folder, "*.json").Where(f => !f.EndsWith(".expected.json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)]
                : [];
            int specFailures = 0;
            foreach (string input in inputs)
            {
                samples++;
                if (CheckSample(mapping, input, output) is false)
                {
                    specFailures++;
                }
            }

            failed += specFailures;
            if (specFailures == 0)
            {
                output.WriteLine($"ok   {specPath}: {mapping.Spec.Id} v{mapping.Spec.Version}, {inputs.Length} sample(s)");
            }
        }

        output.WriteLine($"{specs.Count} spec(s), {samples} sample(s): {invalid} invalid spec(s), {failed} failed sample(s)");
        return invalid > 0 ? SpecFiles.InvalidSpec : failed > 0 ? SpecFiles.MappingFailed : 0;
    }

    private static bool CheckSample(CompiledMapping mapping, string input, TextWriter output)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(input);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"FAIL {input}: cannot read the sample: {e.Message}");
            return false;
        }

        MappingResult result = mapping.Map(bytes);
        if (!result.Success)
        {
            foreach (MappingError error in result.Errors)
            {
                output.WriteLine($"FAIL {input}: {error}");
            }

            return false;
        }

        string expectedPath = input[..^".json".Length] + ".expected.json";
        if (!File.Exists(expectedPath))
        {
            return true;
        }

        try
        {
            using var expected = JsonDocument.Parse(File.ReadAllBytes(expectedPath));
            using var actual = JsonDocument.Parse(result.Output);
            if (JsonCompare.FirstDifference(expected.RootElement, actual.RootElement) is { } difference)
            {
                output.WriteLine($"FAIL {input}: the output differs from {Path.GetFileName(expectedPath)} at {difference}");
                return false;
            }
        }
        catch (JsonException e)
        {
            output.WriteLine($"FAIL {expectedPath}: not valid JSON: {e.Message}");
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"FAIL {expectedPath}: cannot read it: {e.Message}");
            return false;
        }

        return true;
    }
}
