namespace NestMap.Tests;

public sealed class ReadmeTests
{
    [Fact]
    public void UsageExample_IsTheSampleProgramsCode()
    {
        // The README's usage block must appear verbatim in the sample program, which the quick start compiles and runs.
        var root = FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var sample = File.ReadAllText(Path.Combine(root, "samples", "NestMap.Sample", "Program.cs")).ReplaceLineEndings("\n");

        var usage = readme[readme.IndexOf("## Usage", StringComparison.Ordinal)..];
        var start = usage.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var block = usage[start..usage.IndexOf("```", start, StringComparison.Ordinal)];

        Assert.False(string.IsNullOrWhiteSpace(block));
        Assert.Contains(block, sample, StringComparison.Ordinal);
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
