namespace NestMap.Mapping.Tests;

/// <summary>Finds the read-only material in <c>../shared</c>, beside the repository, when it is there.</summary>
internal static class SharedFiles
{
    /// <summary>The repository root (the folder holding NestMap.slnx).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The path of <paramref name="relative"/> under <c>../shared</c>, or null when it is absent.</summary>
    public static string? Find(string relative)
    {
        string path = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", relative));
        return Directory.Exists(path) || File.Exists(path) ? path : null;
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
