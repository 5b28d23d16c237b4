using System.Reflection;
using System.Text.Json;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Specs;

namespace NestMap.Cli.Mapping;

/// <summary>
/// <c>nestmap sbom</c>: a CycloneDX 1.6 JSON manifest of mapping specs, one component per spec (id, version, SHA-256
/// of the file) with properties for the engine version and each spec's sandbox (allowed roots, functions, depth).
/// </summary>
/// <remarks>Written with Utf8JsonWriter: no CycloneDX library is available here; the tests validate the output against
/// the CycloneDX 1.6 JSON Schema.</remarks>
internal static class SbomCommand
{
    public static int Run(IReadOnlyList<string> paths, string? outPath, TimeProvider clock, TextWriter output, TextWriter errors)
    {
        List<string> files = SpecFiles.Find(paths, errors, out bool missing);
        var specs = new List<(string Path, MappingSpec Spec)>();
        foreach (string file in files)
        {
            try
            {
                specs.Add((file, MappingSpec.Load(file)));
            }
            catch (MappingSpecException e)
            {
                foreach (MappingDiagnostic diagnostic in e.Diagnostics)
                {
                    errors.WriteLine(diagnostic);
                }

                return SpecFiles.InvalidSpec;
            }
        }

        if (missing || specs.Count == 0)
        {
            errors.WriteLine($"error {MappingErrorCodes.UnreadableSpec}: no spec files to describe");
            return SpecFiles.InvalidSpec;
        }

        string engine = typeof(JmesPath).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(JmesPath).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("bomFormat", "CycloneDX");
            writer.WriteString("specVersion", "1.6");
            writer.WriteString("serialNumber", "urn:uuid:" + Guid.NewGuid().ToString("D"));
            writer.WriteNumber("version", 1);
            writer.WriteStartObject("metadata");
            writer.WriteString("timestamp", clock.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteStartObject("tools");
            writer.WriteStartArray("components");
            writer.WriteStartObject();
            writer.WriteString("type", "application");
            writer.WriteString("name", "nestmap");
            writer.WriteString("version", engine);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteStartArray("components");
            foreach ((string path, MappingSpec spec) in specs)
            {
                writer.WriteStartObject();
                writer.WriteString("type", "data");
                writer.WriteString("bom-ref", $"mapping:{spec.Id}@{spec.Version}");
                writer.WriteString("name", spec.Id);
                writer.WriteString("version", spec.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (spec.Description is not null)
                {
                    writer.WriteString("description", spec.Description);
                }

                writer.WriteStartArray("hashes");
                writer.WriteStartObject();
                writer.WriteString("alg", "SHA-256");
                writer.WriteString("content", spec.Sha256);
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteStartArray("properties");
                Property(writer, "nestmap:file", path.Replace('\\', '/'));
                Property(writer, "nestmap:engine-version", engine);
                Property(writer, "nestmap:policy:roots", spec.Policy.AllowedRoots is null ? "*" : string.Join(",", spec.Policy.AllowedRoots));
                Property(writer, "nestmap:policy:functions", spec.Policy.AllowedFunctions is null ? "*" : string.Join(",", spec.Policy.AllowedFunctions));
                Property(writer, "nestmap:policy:max-depth", spec.Policy.MaxPathDepth.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Property(writer, "nestmap:fields", spec.Fields.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        if (outPath is null)
        {
            using Stream stdout = Console.OpenStandardOutput();
            buffer.WriteTo(stdout);
        }
        else
        {
            File.WriteAllBytes(outPath, buffer.ToArray());
            output.WriteLine($"wrote {outPath}: {specs.Count} mapping spec(s)");
        }

        return 0;
    }

    private static void Property(Utf8JsonWriter writer, string name, string value)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("value", value);
        writer.WriteEndObject();
    }
}
