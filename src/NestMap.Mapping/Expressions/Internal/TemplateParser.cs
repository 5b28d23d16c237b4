using System.Text;

namespace NestMap.Mapping.Expressions.Internal;

/// <summary>Splits a template into literal text and <c>{{ expression }}</c> placeholders, and compiles each placeholder.</summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class TemplateParser
{
    public static CompiledTemplate Parse(string template, ExpressionPolicy policy)
    {
        var texts = new List<string>();
        var placeholders = new List<CompiledExpression>();
        var text = new StringBuilder();
        int i = 0;
        while (i < template.Length)
        {
            if (template[i] == '\\' && i + 2 < template.Length && template[i + 1] == '{' && template[i + 2] == '{')
            {
                text.Append("{{");
                i += 3;
                continue;
            }

            if (template[i] == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                int start = i + 2;
                int end = template.IndexOf("}}", start, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new ExpressionException(ExpressionErrorKind.Syntax, ErrorMessages.UnterminatedPlaceholder, template, i);
                }

                texts.Add(text.ToString());
                text.Clear();
                placeholders.Add(CompilePlaceholder(template, start, end, policy));
                i = end + 2;
                continue;
            }

            text.Append(template[i]);
            i++;
        }

        texts.Add(text.ToString());
        return new CompiledTemplate(template, [.. texts], [.. placeholders]);
    }

    // Compiled in place so that error carets point into the template.
    private static CompiledExpression CompilePlaceholder(string template, int start, int end, ExpressionPolicy policy) =>
        JmesPath.CompileRange(template, start, end, policy, template[start..end].Trim());
}
