using System.Globalization;
using System.Text.Json;
using NestMap.Mapping.Specs;
using Spectre.Console;

namespace NestMap.Cli.Mapping;

/// <summary>
/// <c>nestmap diff</c>: maps every input with two versions of a spec and reports, per output field, how the outputs
/// differ: value, type, null versus missing, missing (the new version leaves out what the old wrote), extra (the
/// reverse). The rate is the share of (input, field) pairs that differ; an input that fails on either side counts as
/// a difference for every field.
/// </summary>
internal static class DiffCommand
{
    private static readonly string[] s_kinds = ["value", "type", "null-vs-missing", "missing", "extra", "error"];

    public static int Run(string oldPath, string newPath, string inputs, double? maxRate, TextWriter output, TextWriter errors)
    {
        CompiledMapping? old = SpecFiles.TryCompile(oldPath, errors);
        CompiledMapping? current = SpecFiles.TryCompile(newPath, errors);
        if (old is null || current is null)
        {
            return SpecFiles.InvalidSpec;
        }

        if (!Directory.Exists(inputs))
        {
            errors.WriteLine($"{inputs}: error {MappingErrorCodes.UnreadableInput}: no such folder");
            return SpecFiles.InvalidSpec;
        }

        string[] files = [.. Directory.EnumerateFiles(inputs, "*.json").Where(f => !f.EndsWith(".expected.json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)];
        List<IReadOnlyList<string>> fields = [.. old.Spec.Fields.Select(f => f.Segments)];
        foreach (FieldSpec field in current.Spec.Fields)
        {
            if (!fields.Any(f => f.SequenceEqual(field.Segments)))
            {
                fields.Add(field.Segments);
            }
        }

        var counts = new Dictionary<string, int[]>(StringComparer.Ordinal);
        int differing = 0;
        foreach (string file in files)
        {
            byte[] input;
            try
            {
                input = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.WriteLine($"{file}: error {MappingErrorCodes.UnreadableInput}: cannot read the input: {e.Message}");
                return SpecFiles.InvalidSpec;
            }

            MappingResult a = old.Map(input), b = current.Map(input);
            using JsonDocument? left = a.Success ? JsonDocument.Parse(a.Output) : null;
            using JsonDocument? right = b.Success ? JsonDocument.Parse(b.Output) : null;
            foreach (IReadOnlyList<string> field in fields)
            {
                string? kind = left is null || right is null ? "error" : Compare(At(left.RootElement, field), At(right.RootElement, field));
                if (kind is null)
                {
                    continue;
                }

                string name = string.Join('.', field.Select(s => s.Contains('.', StringComparison.Ordinal) ? "\"" + s + "\"" : s));
                if (!counts.TryGetValue(name, out int[]? row))
                {
                    counts[name] = row = new int[s_kinds.Length];
                }

                row[Array.IndexOf(s_kinds, kind)]++;
                differing++;
            }
        }

        int total = files.Length * fields.Count;
        double rate = total == 0 ? 0 : (double)differing / total;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        console.Profile.Width = Math.Max(console.Profile.Width, 120);
        if (counts.Count > 0)
        {
            var table = new Table().Border(TableBorder.Simple).AddColumn("field");
            foreach (string kind in s_kinds)
            {
                table.AddColumn(new TableColumn(kind).RightAligned());
            }

            foreach ((string field, int[] row) in counts.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                table.AddRow([Markup.Escape(field), .. row.Select(n => n.ToString(CultureInfo.InvariantCulture))]);
            }

            console.Write(table);
        }

        console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{files.Length} input(s) x {fields.Count} field(s): {differing} of {total} field values differ (rate {rate:0.####})"));
        if (maxRate is { } limit && rate > limit)
        {
            errors.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: the difference rate {rate:0.####} exceeds --max-diff-rate {limit}"));
            return 1;
        }

        return 0;
    }

    private static JsonElement? At(JsonElement root, IReadOnlyList<string> path)
    {
        JsonElement at = root;
        foreach (string name in path)
        {
            if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(name, out at))
            {
                return null;
            }
        }

        return at;
    }

    /// <summary>The kind of difference between the old and new value of a field, or null when they are the same.</summary>
    internal static string? Compare(JsonElement? old, JsonElement? current)
    {
        if (old is null && current is null)
        {
            return null;
        }

        if (old is null || current is null)
        {
            JsonElement present = (old ?? current)!.Value;
            return present.ValueKind == JsonValueKind.Null ? "null-vs-missing" : old is null ? "extra" : "missing";
        }

        JsonValueKind a = Normalize(old.Value.ValueKind), b = Normalize(current.Value.ValueKind);
        if (a != b)
        {
            return "type";
        }

        return JsonCompare.FirstDifference(old.Value, current.Value) is null ? null : "value";
    }

    private static JsonValueKind Normalize(JsonValueKind kind) => kind == JsonValueKind.False ? JsonValueKind.True : kind;
}
