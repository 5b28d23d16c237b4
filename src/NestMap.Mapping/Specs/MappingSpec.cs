using System.Security.Cryptography;
using System.Text;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Specs.Internal;

namespace NestMap.Mapping.Specs;

/// <summary>
/// A mapping spec: a YAML file that says, for each output field, which expression over the input gives its value,
/// under which sandbox policy, against which output schema, and how older input versions are adapted.
/// </summary>
/// <remarks>
/// <para>Loading is strict: unknown keys (with a "did you mean"), duplicate keys, wrong types, malformed output paths
/// and conflicting fields are errors with line and column, all reported together in a
/// <see cref="MappingSpecException"/>. YAML aliases and nesting are capped, and the file size is limited, so a hostile
/// file cannot make loading expensive. Expressions are compiled by <see cref="MappingCompiler"/>.</para>
/// <para>Immutable; thread-safe.</para>
/// </remarks>
public sealed class MappingSpec
{
    /// <summary>The largest spec file accepted, in bytes (1 MiB).</summary>
    public const int MaxSpecBytes = 1 << 20;

    private readonly SpecContent _content;

    internal MappingSpec(SpecContent content) => _content = content;

    /// <summary>Gets the mapping's id (<c>mapping:</c>).</summary>
    public string Id => _content.Id;

    /// <summary>Gets the spec's version (<c>version:</c>), which is also the input version it expects.</summary>
    public int Version => _content.Version;

    /// <summary>Gets the description, if any.</summary>
    public string? Description => _content.Description;

    /// <summary>Gets the expression sandbox of every expression in the spec (<c>policy:</c>).</summary>
    public ExpressionPolicy Policy => _content.Policy;

    /// <summary>Gets the output JSON Schema's path as written (relative to the spec file), if any.</summary>
    public string? SchemaPath => _content.SchemaPath;

    /// <summary>Gets where the spec names its output schema (line and column from 1; 0 when it names none).</summary>
    internal (int Line, int Column) SchemaAt => _content.SchemaAt;

    /// <summary>Gets the output fields, in the order of the spec (which is the order of the output).</summary>
    public IReadOnlyList<FieldSpec> Fields => _content.Fields;

    /// <summary>Gets the compatibility steps, in the order of the spec.</summary>
    public IReadOnlyList<CompatibilityStep> Compatibility => _content.Compatibility;

    /// <summary>Gets the warnings found while loading (the spec is usable).</summary>
    public IReadOnlyList<MappingDiagnostic> Warnings => _content.Warnings;

    /// <summary>Gets the file the spec came from, or the name given to <see cref="Parse"/>; <see langword="null"/> when unnamed.</summary>
    public string? Source => _content.Source;

    /// <summary>Gets the largest input accepted, in bytes (<c>input: maxBytes</c>; default 10 MiB).</summary>
    public long MaxInputBytes => _content.MaxInputBytes;

    /// <summary>Gets the deepest input accepted (<c>input: maxDepth</c>; default 64).</summary>
    public int MaxInputDepth => _content.MaxInputDepth;

    /// <summary>Gets the SHA-256 of the spec's text (UTF-8), in lower-case hexadecimal.</summary>
    public string Sha256 => _content.Sha256;

    /// <summary>Loads a spec from a file.</summary>
    /// <param name="path">The spec file (YAML).</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="MappingSpecException">The file cannot be read, or the spec is invalid.</exception>
    public static MappingSpec Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxSpecBytes)
            {
                throw Single(MappingErrorCodes.SpecTooLarge, $"the spec file is larger than {MaxSpecBytes} bytes", path);
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Single(MappingErrorCodes.UnreadableSpec, "cannot read the spec: " + e.Message, path);
        }

        return FromBytes(bytes, path);
    }

    /// <summary>Loads a spec from a stream (read to its end).</summary>
    /// <param name="stream">The YAML text, UTF-8.</param>
    /// <param name="source">A name for the spec in diagnostics, such as its file name; <see langword="null"/> for none.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="MappingSpecException">The stream is too large, or the spec is invalid.</exception>
    public static MappingSpec Load(Stream stream, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxSpecBytes)
            {
                throw Single(MappingErrorCodes.SpecTooLarge, $"the spec is larger than {MaxSpecBytes} bytes", source);
            }

            buffer.Write(chunk, 0, read);
        }

        return FromBytes(buffer.ToArray(), source);
    }

    /// <summary>Parses a spec from YAML text.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="source">A name for the spec in diagnostics, such as its file name; <see langword="null"/> for none.
    /// A relative <c>output.schema</c> is resolved against this name's folder.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="yaml"/> is null.</exception>
    /// <exception cref="MappingSpecException">The spec is invalid.</exception>
    public static MappingSpec Parse(string yaml, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (Encoding.UTF8.GetByteCount(yaml) > MaxSpecBytes)
        {
            throw Single(MappingErrorCodes.SpecTooLarge, $"the spec is larger than {MaxSpecBytes} bytes", source);
        }

        return SpecReader.Read(yaml.TrimStart('\uFEFF'), source, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml))));
    }

    private static MappingSpec FromBytes(byte[] bytes, string? source)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Single(MappingErrorCodes.YamlSyntax, "the spec is not valid UTF-8", source);
        }

        return SpecReader.Read(text.TrimStart('\uFEFF'), source, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static MappingSpecException Single(string code, string message, string? source) =>
        new([new MappingDiagnostic(code, message, DiagnosticSeverity.Error, source, 0, 0)]);
}
