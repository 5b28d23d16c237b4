namespace NestMap.Mapping.Tests;

/// <summary>Runs test code on a thread of its own with a chosen stack size: deep input must fail with a coded error, never overflow.</summary>
internal static class StackThread
{
    /// <summary>Runs <paramref name="action"/> on a thread with a stack of <paramref name="stackSize"/> bytes; returns what it threw, if anything.</summary>
    public static Exception? Run(int stackSize, Action action)
    {
        Exception? caught = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    caught = e;
                }
            },
            stackSize);
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromMinutes(2)), "the code on the thread did not finish");
        return caught;
    }
}
