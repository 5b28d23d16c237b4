using System.Text;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>Parses output paths: names separated by dots, a name with a dot or other special characters in double quotes (<c>"x.y".z</c>).</summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class OutputPath
{
    /// <summary>Splits <paramref name="path"/> into its names, or explains why it cannot.</summary>
    public static bool TryParse(string path, out List<string> segments, out string error)
    {
        segments = [];
        error = string.Empty;
        int i = 0;
        while (true)
        {
            if (i < path.Length && path[i] == '"')
            {
                var name = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= path.Length)
                    {
                        error = "unterminated quoted name";
                        return false;
                    }

                    if (path[i] == '\\' && i + 1 < path.Length && path[i + 1] is '"' or '\\')
                    {
                        name.Append(path[i + 1]);
                        i += 2;
                        continue;
                    }

                    if (path[i] == '"')
                    {
                        i++;
                        break;
                    }

                    name.Append(path[i++]);
                }

                segments.Add(name.ToString());
            }
            else
            {
                int start = i;
                while (i < path.Length && path[i] != '.')
                {
                    if (path[i] == '"')
                    {
                        error = "a quote may only start a name";
                        return false;
                    }

                    i++;
                }

                string name = path[start..i].Trim();
                if (name.Length == 0)
                {
                    error = "empty name";
                    return false;
                }

                segments.Add(name);
            }

            if (i == path.Length)
            {
                return true;
            }

            if (path[i] != '.')
            {
                error = "a '.' must follow a quoted name";
                return false;
            }

            i++;
            if (i == path.Length)
            {
                error = "empty name at the end";
                return false;
            }
        }
    }
}
