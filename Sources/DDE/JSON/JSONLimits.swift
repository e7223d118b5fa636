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

    /// The defaults are the C API's DDE_JSON_MAX_* (abi/dde.abi).
    public init(maxBytes: Int = ABILimits.jsonMaxBytes, maxDepth: Int = ABILimits.jsonMaxDepth,
                maxStringBytes: Int = ABILimits.jsonMaxStringBytes, maxObjectKeys: Int = ABILimits.jsonMaxObjectKeys,
                maxArrayElements: Int = ABILimits.jsonMaxArrayElements) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxObjectKeys = maxObjectKeys
        self.maxArrayElements = maxArrayElements
    }

    public static let `default` = JSONLimits()
}
