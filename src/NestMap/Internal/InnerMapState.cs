namespace NestMap.Internal;

/// <summary>The life of an <see cref="InnerMap{TOuter, TInner, TValue}"/>; it only moves forward, and only under the map's lock.</summary>
internal enum InnerMapState
{
    /// <summary>Linked in the outer map; takes reads and writes.</summary>
    Live,

    /// <summary>Its entries are gone (the last one was removed, or the outer key was removed or cleared) and it is unlinked.</summary>
    Retired,

    /// <summary>Replaced in the outer map by a grown or shrunk successor that holds its entries.</summary>
    Moved,
}
