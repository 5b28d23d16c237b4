using System.Text.Json;

namespace NestMap.Mapping.Tests;

/// <summary>Compares JSON values as JMESPath does: numbers by value (1 equals 1.0), objects regardless of member order.</summary>
internal static class JsonAssert
{
    public static bool DeepEqual(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind)
        {
            return false;
        }

        switch (a.ValueKind)
        {
            case JsonValueKind.Number:
                return a.GetDouble() == b.GetDouble();
            case JsonValueKind.String:
                return a.GetString() == b.GetString();
            case JsonValueKind.Array:
                return a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => DeepEqual(p.First, p.Second));
            case JsonValueKind.Object:
                {
                    var left = a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                    var right = b.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                    return left.Count == right.Count && left.All(p => right.TryGetValue(p.Key, out JsonElement other) && DeepEqual(p.Value, other));
                }

            default:
                return true;
        }
    }

    public static void Equal(string expectedJson, string actualJson, string because)
    {
        using var expected = JsonDocument.Parse(expectedJson);
        using var actual = JsonDocument.Parse(actualJson);
        Assert.True(DeepEqual(expected.RootElement, actual.RootElement), $"{because}\nexpected: {expectedJson}\nactual:   {actualJson}");
    }
}
