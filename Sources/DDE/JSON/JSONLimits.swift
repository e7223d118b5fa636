/// Limits a parser enforces before anything else (PROTOCOL.md section 2). A message over any of
/// them is refused with `Status.limit`, before it can cost memory or time.
public struct JSONLimits: Sendable {
    /// Largest document in bytes.
    public var maxBytes: Int
    /// Deepest nesting of arrays and objects.
    public var maxDepth: Int
    /// Longest string (key or value) in UTF-8 bytes after unescaping.
    public var maxStringBytes: Int
    /// Most members in one object.
    public var maxObjectKeys: Int
    /// Most elements in one array.
    public var maxArrayElements: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxStringBytes: Int = 1 << 20,
                maxObjectKeys: Int = 4096, maxArrayElements: Int = 65536) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxObjectKeys = maxObjectKeys
        self.maxArrayElements = maxArrayElements
    }

    public static let `default` = JSONLimits()
}
