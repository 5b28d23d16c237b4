using System.Collections.Concurrent;

namespace NestMap.Cli.Demo;

/// <summary>One of the three ways the demo keeps sessions under tenants.</summary>
internal abstract class SessionStore : IDisposable
{
    /// <summary>Gets the entries held now (cheap enough to read every 10 ms).</summary>
    public abstract long Entries { get; }

    /// <summary>Gets the inner maps (tenants) held now (cheap enough to read every 10 ms).</summary>
    public abstract long InnerMaps { get; }

    public static SessionStore Create(LeakScenarioKind kind, LeakSettings settings) => kind switch
    {
        LeakScenarioKind.Naive => new NaiveStore(),
        LeakScenarioKind.Zombie => new ZombieStore(),
        LeakScenarioKind.NestMap => new NestMapStore(TimeSpan.FromSeconds(settings.TtlSeconds)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown scenario."),
    };

    /// <summary>A session signs in.</summary>
    public abstract void SignIn(string tenant, string session, Session value);

    /// <summary>A request touches a session: read it, write it back with a new timestamp.</summary>
    public abstract void Touch(string tenant, string session, DateTimeOffset now);

    /// <summary>The application removes a session it considers expired (what the second scenario's code does by hand).</summary>
    public virtual void RemoveExpired(string tenant, string session)
    {
    }

    /// <summary>Counts the inner maps that hold nothing (a walk; called once, at the end).</summary>
    public abstract long CountEmptyInnerMaps();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>The classic: a lock around nested dictionaries, and nothing ever removed.</summary>
    private sealed class NaiveStore : SessionStore
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, Dictionary<string, Session>> _tenants = [];
        private long _entries;

        public override long Entries
        {
            get
            {
                lock (_lock)
                {
                    return _entries;
                }
            }
        }

        public override long InnerMaps
        {
            get
            {
                lock (_lock)
                {
                    return _tenants.Count;
                }
            }
        }

        public override void SignIn(string tenant, string session, Session value)
        {
            lock (_lock)
            {
                if (!_tenants.TryGetValue(tenant, out var sessions))
                {
                    _tenants[tenant] = sessions = [];
                }

                if (sessions.TryAdd(session, value))
                {
                    _entries++;
                }
            }
        }

        public override void Touch(string tenant, string session, DateTimeOffset now)
        {
            lock (_lock)
            {
                if (_tenants.TryGetValue(tenant, out var sessions) && sessions.TryGetValue(session, out var value))
                {
                    sessions[session] = value with { LastSeen = now };
                }
            }
        }

        public override long CountEmptyInnerMaps()
        {
            lock (_lock)
            {
                return _tenants.Values.Count(sessions => sessions.Count == 0);
            }
        }
    }

    /// <summary>Nested ConcurrentDictionary: sessions are removed when they expire, but emptied inner maps stay.</summary>
    private sealed class ZombieStore : SessionStore
    {
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Session>> _tenants = new();
        private long _entries;

        public override long Entries => Interlocked.Read(ref _entries);

        public override long InnerMaps => _tenants.Count;

        public override void SignIn(string tenant, string session, Session value)
        {
            if (_tenants.GetOrAdd(tenant, static _ => new ConcurrentDictionary<string, Session>()).TryAdd(session, value))
            {
                Interlocked.Increment(ref _entries);
            }
        }

        public override void Touch(string tenant, string session, DateTimeOffset now)
        {
            if (_tenants.TryGetValue(tenant, out var sessions) && sessions.TryGetValue(session, out var value))
            {
                sessions[session] = value with { LastSeen = now };
            }
        }

        public override void RemoveExpired(string tenant, string session)
        {
            // The usual code: remove the entry, leave the inner map (removing it safely is the hard part NestMap does).
            if (_tenants.TryGetValue(tenant, out var sessions) && sessions.TryRemove(session, out _))
            {
                Interlocked.Decrement(ref _entries);
            }
        }

        public override long CountEmptyInnerMaps() => _tenants.Values.Count(sessions => sessions.IsEmpty);
    }

    /// <summary>ConcurrentNestedMap with sliding expiry: nothing to remove by hand.</summary>
    private sealed class NestMapStore(TimeSpan ttl) : SessionStore
    {
        private readonly ConcurrentNestedMap<string, string, Session> _sessions = new(new() { Name = "demo-sessions", ExpireAfterAccess = ttl });

        public override long Entries => _sessions.Count;

        public override long InnerMaps => _sessions.OuterCount;

        public override void SignIn(string tenant, string session, Session value) => _sessions.TryAdd(tenant, session, value);

        public override void Touch(string tenant, string session, DateTimeOffset now)
        {
            if (_sessions.TryGetValue(tenant, session, out var value))
            {
                _sessions.TryUpdate(tenant, session, value with { LastSeen = now }, value);
            }
        }

        public override long CountEmptyInnerMaps() => _sessions.OuterKeys.Count() is var held ? _sessions.OuterCount - held : 0;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _sessions.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
