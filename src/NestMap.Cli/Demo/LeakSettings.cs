namespace NestMap.Cli.Demo;

/// <summary>The workload of the leak demo.</summary>
/// <param name="Seconds">How long each scenario runs.</param>
/// <param name="Rate">Writes per second the workload aims for.</param>
/// <param name="TtlSeconds">Session lifetime: NestMap's sliding expiry, and the age at which the second scenario removes sessions.</param>
internal sealed record LeakSettings(int Seconds, int Rate, double TtlSeconds)
{
    /// <summary>Sessions per tenant: tenants come and go (users with a few devices, short-lived customers).</summary>
    public const int SessionsPerTenant = 5;

    /// <summary>Checks the settings; returns a message for the user when one is out of range.</summary>
    public string? Validate() =>
        Seconds is < 1 or > 3_600 ? "--seconds must be between 1 and 3600."
        : Rate is < 100 or > 5_000_000 ? "--rate must be between 100 and 5,000,000 writes per second."
        : TtlSeconds is < 0.05 or > 3_600 ? "--ttl must be between 0.05 and 3600 seconds."
        : null;
}

/// <summary>The three structures the demo compares.</summary>
internal enum LeakScenarioKind
{
    /// <summary><c>Dictionary&lt;string, Dictionary&lt;string, Session&gt;&gt;</c> under a lock, nothing ever removed.</summary>
    Naive,

    /// <summary>Nested <c>ConcurrentDictionary</c>: sessions are removed when they expire, emptied inner maps stay.</summary>
    Zombie,

    /// <summary><c>ConcurrentNestedMap</c> with sliding expiry.</summary>
    NestMap,
}

/// <summary>A signed-in user's session in the demo.</summary>
internal sealed record Session(long Id, DateTimeOffset LastSeen);
