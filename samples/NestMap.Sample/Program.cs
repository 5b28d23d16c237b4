using System.Collections.Concurrent;
using System.Text.Json;
using NestMap;
using NestMap.Mapping.Expressions;

// ---- README example (tests/NestMap.Tests/ReadmeTests.cs checks that README.md shows exactly this) ----
var sessions = new ConcurrentNestedMap<string, string, Session>();

sessions.Set("acme", "s-1", new Session("alice"));                      // the inner map for "acme" is made on demand
var bob = sessions.GetOrAdd("acme", "s-2", (tenant, id) => new Session("bob"));

if (sessions.TryGetValue("acme", "s-1", out var alice))
{
    Console.WriteLine($"{alice.User} and {bob.User} are signed in to acme ({sessions.CountOf("acme")} sessions)");
}

sessions.TryRemove("acme", "s-1", out _);
sessions.TryRemove("acme", "s-2", out _);
Console.WriteLine($"acme still has an inner map: {sessions.ContainsOuter("acme")}");  // False: it went with its last entry
// ---- end of README example ----

// ---- README expiry example ----
using var expiring = new ConcurrentNestedMap<string, string, Session>(new()
{
    ExpireAfterAccess = TimeSpan.FromMinutes(20),      // sliding; or ExpireAfterWrite for a fixed lifetime
    ExpireOuterAfterIdle = TimeSpan.FromHours(1),      // a tenant nobody touched for an hour goes with all its sessions
    MaxEntriesPerOuter = 100,                          // bounds; CapacityPolicy says whether to refuse or evict
    OnRemoved = r => Console.WriteLine($"{r.Outer}/{r.Inner} left: {r.Reason}"),
});
expiring.Set("acme", "s-3", new Session("carol"), TimeSpan.FromMinutes(5));   // a per-call TTL
// ---- end of README expiry example ----

// ---- README expression example ----
var policy = new ExpressionPolicy { AllowedRoots = ["order", "user"] };      // the sandbox: only these input fields
var shipping = JmesPath.Compile("{code: $.order.shipping_type || 'STANDARD', skus: order.items[].sku}", policy);
var city = JmesPath.Compile("user.profile.address.city", policy);

using var input = JsonDocument.Parse("""{"order": {"items": [{"sku": "A1"}, {"sku": "B2"}]}, "user": {}}""");
Console.WriteLine(shipping.Evaluate(input.RootElement)?.ToJsonString());   // {"code":"STANDARD","skus":["A1","B2"]}
city.Evaluate(input.RootElement, out var missing);
Console.WriteLine($"city is missing (no such path), not null: {missing}");    // True
// ---- end of README expression example ----

// The churn demo: 8 threads sign sessions in and out across 2,000 tenants, against a nested ConcurrentDictionary
// that removes entries the usual way (the emptied inner maps stay behind) and against ConcurrentNestedMap.
const int Tenants = 2_000;
const int SessionsPerThread = 250_000;
var naive = new ConcurrentDictionary<int, ConcurrentDictionary<int, Session>>();
var nested = new ConcurrentNestedMap<int, int, Session>();
var user = new Session("demo");

Console.WriteLine();
Console.WriteLine($"Churn: 8 threads x {SessionsPerThread:N0} sessions over {Tenants:N0} tenants, each session signed in then out.");
var baseline = HeapBytes();
Churn((tenant, session) => naive.GetOrAdd(tenant, _ => new ConcurrentDictionary<int, Session>())[session] = user,
      (tenant, session) => naive.TryGetValue(tenant, out var inner) && inner.TryRemove(session, out _));
var naiveHeap = HeapBytes() - baseline;
var zombies = naive.Count(pair => pair.Value.IsEmpty);
Report("nested ConcurrentDictionary", naive.Sum(pair => pair.Value.Count), naive.Count, zombies, naiveHeap);

naive.Clear();
baseline = HeapBytes();
Churn((tenant, session) => nested.Set(tenant, session, user),
      (tenant, session) => nested.TryRemove(tenant, session, out _));
var nestedHeap = HeapBytes() - baseline;
Report("ConcurrentNestedMap", nested.Count, nested.OuterCount, nested.OuterCount - nested.OuterKeys.Count(), nestedHeap);
return;

static void Churn(Action<int, int> signIn, Func<int, int, bool> signOut)
{
    var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
    {
        var random = new Random(t);
        for (var n = 0; n < SessionsPerThread; n++)
        {
            var tenant = random.Next(Tenants);
            var session = (t * SessionsPerThread) + n;
            signIn(tenant, session);
            if (!signOut(tenant, session))
            {
                throw new InvalidOperationException("A session that was signed in could not be signed out.");
            }
        }
    })).ToList();
    threads.ForEach(thread => thread.Start());
    threads.ForEach(thread => thread.Join());
}

static long HeapBytes()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    return GC.GetTotalMemory(forceFullCollection: true);
}

static void Report(string name, long entries, int outerKeys, int emptyInnerMaps, long heapBytes) =>
    Console.WriteLine($"  {name,-28} live sessions {entries,3}   tenants with an inner map {outerKeys,5:N0}   empty inner maps {emptyInnerMaps,5:N0}   heap kept {heapBytes / 1024.0,8:N0} KiB");

/// <summary>A signed-in user's session.</summary>
internal sealed record Session(string User);
