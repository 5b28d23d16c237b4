using System.Globalization;
using System.Text.Json;

namespace NestMap.Cli.Mapping;

/// <summary>Compares JSON values: numbers by value, objects regardless of member order; finds where two differ.</summary>
internal static class JsonCompare
{
    /// <summary>The first place where <paramref name="expected"/> and <paramref name="actual"/> differ, or null when they are equal.</summary>
    public static string? FirstDifference(JsonElement expected, JsonElement actual, string path = "$")
    {
        if (Kind(expected) != Kind(actual))
        {
            return $"{path}: expected {Show(expected)}, got {Show(actual)}";
        }

        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty property in expected.EnumerateObject())
                {
                    string at = path + "." + property.Name;
                    if (!actual.TryGetProperty(property.Name, out JsonElement other))
                    {
                        return $"{at}: missing (expected {Show(property.Value)})";
                    }

                    if (FirstDifference(property.Value, other, at) is { } difference)
                    {
                        return difference;
                    }
                }

                foreach (JsonProperty property in actual.EnumerateObject())
                {
                    if (!expected.TryGetProperty(property.Name, out _))
                    {
                        return $"{path}.{property.Name}: not expected (got {Show(property.Value)})";
                    }
                }

                return null;
            case JsonValueKind.Array:
                {
                    int length = expected.GetArrayLength();
                    if (length != actual.GetArrayLength())
                    {
                        return $"{path}: expected {length} items, got {actual.GetArrayLength()}";
                    }

                    for (int i = 0; i < length; i++)
                    {
                        if (FirstDifference(expected[i], actual[i], path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]") is { } difference)
                        {
                            return difference;
                        }
                    }

                    return null;
                }

            case JsonValueKind.Number:
                return expected.GetDouble() == actual.GetDouble() ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
            case JsonValueKind.String:
                return expected.GetString() == actual.GetString() ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
            default:
                return null;
        }
    }

    /// <summary>Kinds that compare equal: true and false are both booleans, but different values.</summary>
    private static JsonValueKind Kind(JsonElement e) => e.ValueKind;

    private static string Show(JsonElement e)
    {
        string text = e.GetRawText();
        return text.Length <= 60 ? text : text[..57] + "...";
    }
}
