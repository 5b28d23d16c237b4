using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>
/// The <c>NestMap.Mapping</c> activity source and meter. Instruments record only when someone listens, so a mapping
/// nobody observes pays one flag check per call.
/// </summary>
/// <remarks>Thread-safe (the instruments are).</remarks>
internal static class MappingTelemetry
{
    public const string Name = "NestMap.Mapping";

    public static ActivitySource Source { get; } = new(Name);

    private static readonly Meter s_meter = new(Name);

    /// <summary>Duration of each mapping call, tagged with the mapping id and whether it succeeded.</summary>
    public static Histogram<double> Duration { get; } = s_meter.CreateHistogram<double>(
        "nestmap.mapping.duration", unit: "s", description: "Duration of a mapping call.");

    /// <summary>Field outcomes, tagged with the mapping id, the field's output path and its status.</summary>
    public static Counter<long> FieldOutcomes { get; } = s_meter.CreateCounter<long>(
        "nestmap.mapping.fields", unit: "{field}", description: "Outcomes of mapped fields by mapping, field and status.");

    /// <summary>Records the duration of a call; <paramref name="started"/> is null when nobody listened at its start.</summary>
    public static void Record(CompiledMapping mapping, Specs.MappingResult result, long? started)
    {
        if (started is { } start && Duration.Enabled)
        {
            Duration.Record(
                mapping.Options.TimeProvider.GetElapsedTime(start).TotalSeconds,
                new KeyValuePair<string, object?>("nestmap.mapping.id", mapping.Spec.Id),
                new KeyValuePair<string, object?>("nestmap.mapping.success", result.Success));
        }

    }

    public static void CountField(string mapping, string field, FieldStatus status) => FieldOutcomes.Add(
        1,
        new KeyValuePair<string, object?>("nestmap.mapping.id", mapping),
        new KeyValuePair<string, object?>("nestmap.mapping.field", field),
        new KeyValuePair<string, object?>("nestmap.mapping.status", StatusName(status)));

    public static string StatusName(FieldStatus status) => status switch
    {
        FieldStatus.Ok => "ok",
        FieldStatus.NoData => "nodata",
        FieldStatus.Defaulted => "defaulted",
        _ => "error",
    };
}
