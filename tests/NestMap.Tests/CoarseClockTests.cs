using NestMap.Internal;

namespace NestMap.Tests;

/// <summary>The coarse clock's one promise: its upper bound is never below the true time, so a deadline above it has not passed.</summary>
public sealed class CoarseClockTests
{
    [Fact]
    public void UpperBound_IsNeverBelowAPreciseReadingTakenBeforeIt()
    {
        var clock = new CoarseClock();
        var estimated = 0;
        for (var i = 0; i < 200_000; i++)
        {
            // Precise first, bound second: the bound must cover the earlier reading, whatever happened in between.
            var before = TimeProvider.System.GetTimestamp();
            if (clock.TryEstimate(out var estimate, out var upperBound))
            {
                estimated++;
                Assert.True(upperBound >= before, $"Upper bound {upperBound} is below the precise time {before} read before it.");
                Assert.True(upperBound > estimate, "The bound lies above the estimate by the margin.");
            }
            else
            {
                clock.PreciseNow(); // an old calibration is renewed by a precise read
            }
        }

        Assert.True(estimated > 0, "The coarse path was taken at least once.");
    }

    [Fact]
    public void ADeadlineAnHourAhead_IsCertainlyAhead_AndOneAtNowIsNot()
    {
        var clock = new CoarseClock();
        var now = clock.PreciseNow();
        Assert.True(clock.TryEstimate(out _, out var upperBound));
        Assert.True(now + TimeProvider.System.TimestampFrequency * 3600 > upperBound);
        Assert.False(now > upperBound);
    }
}
