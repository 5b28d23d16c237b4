namespace NestMap.Tests;

public sealed class ReadmeTests
{
    [Fact]
    public void UsageExamples_AreTheSampleProgramsCode()
    {
        // Every C# block of the README's usage section must appear verbatim in the sample program, which every build of
        // the solution compiles, so the examples cannot rot.
        var root = FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var sample = File.ReadAllText(Path.Combine(root, "samples", "NestMap.Sample", "Program.cs")).ReplaceLineEndings("\n");

        var usage = readme[readme.IndexOf("## Usage", StringComparison.Ordinal)..];
        usage = usage[..usage.IndexOf("\n## ", StringComparison.Ordinal)];
        var blocks = new List<string>();
        for (var at = usage.IndexOf("```csharp\n", StringComparison.Ordinal); at >= 0; at = usage.IndexOf("```csharp\n", at, StringComparison.Ordinal))
        {
            var start = at + "```csharp\n".Length;
            var end = usage.IndexOf("```", start, StringComparison.Ordinal);
            blocks.Add(usage[start..end]);
            at = end + 3;
        }

        Assert.Equal(3, blocks.Count);
        Assert.All(blocks, block =>
        {
            Assert.False(string.IsNullOrWhiteSpace(block));
            Assert.Contains(block, sample, StringComparison.Ordinal);
        });
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
