using NestMap.Mapping.Specs;

namespace NestMap.Cli.Mapping;

/// <summary>Loading and compiling specs for the commands, with diagnostics printed the way compilers print them.</summary>
internal static class SpecFiles
{
    /// <summary>Exit code: the mapping ran and failed (required field, runtime error, schema violation).</summary>
    public const int MappingFailed = 1;

    /// <summary>Exit code: a spec is invalid, or the command line is.</summary>
    public const int InvalidSpec = 2;

    /// <summary>Loads and compiles a spec; prints its warnings, or its errors and returns null.</summary>
    public static CompiledMapping? TryCompile(string path, TextWriter errors, MappingOptions? options = null)
    {
        try
        {
            MappingSpec spec = MappingSpec.Load(path);
            foreach (MappingDiagnostic warning in spec.Warnings)
            {
                errors.WriteLine(warning);
            }

            return MappingCompiler.Compile(spec, options);
        }
        catch (MappingSpecException e)
        {
            foreach (MappingDiagnostic diagnostic in e.Diagnostics)
            {
                errors.WriteLine(diagnostic);
            }

            return null;
        }
    }

    /// <summary>The spec files under the given files and folders (*.yaml and *.yml, folders searched recursively), sorted.</summary>
    public static List<string> Find(IEnumerable<string> paths, TextWriter errors, out bool missing)
    {
        missing = false;
        var found = new List<string>();
        foreach (string path in paths)
        {
            if (File.Exists(path))
            {
                found.Add(path);
            }
            else if (Directory.Exists(path))
            {
                found.AddRange(Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories)
                    .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)));
            }
            else
            {
                errors.WriteLine($"{path}: error {MappingErrorCodes.UnreadableSpec}: no such file or folder");
                missing = true;
            }
        }

        return [.. found.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }
}
