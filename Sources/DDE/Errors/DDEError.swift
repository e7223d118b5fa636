// The error every fallible function of the core throws: a status code (Status.swift, generated
// from abi/dde.abi) and what exactly went wrong.

/// The one error type of the core. Typed throws (`throws(DDEError)`) keep the core free of
/// existentials so it compiles under Embedded Swift.
public struct DDEError: Error, Sendable {
    public let status: Status
    /// What exactly went wrong, for a human: which field, which position, what to do.
    public let detail: String

    /// `detail` is a string literal, interpolations allowed (see ErrorDetail), or
    /// `ErrorDetail(text)` for a String made elsewhere.
    public init(_ status: Status, _ detail: ErrorDetail) {
        self.status = status
        self.detail = detail.text
    }

    /// "DDE_ERR_X: detail".
    public var message: String { "\(status.name): \(detail)" }
}

/// The detail of a DDEError, written as a string literal with interpolations:
/// `DDEError(.schema, "task.\(name) is missing")`. Each literal piece and each value is appended
/// by a call into one of the functions below, instead of the String appends that a `String`
/// interpolation inlines at every throw (in the Embedded aarch64 library those made 70 KB of
/// its 546 KB of code: docs/BUILDING.md). The text is what the same String interpolation gives.
public struct ErrorDetail: ExpressibleByStringInterpolation, Sendable {
    public let text: String

    /// A text made elsewhere.
    public init(_ text: String) { self.text = text }

    public init(stringLiteral literal: StaticString) { text = ErrorDetail.string(literal) }

    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    @inline(never)
    static func string(_ literal: StaticString) -> String {
        literal.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {}

        @inline(never)
        public mutating func appendLiteral(_ literal: StaticString) {
            literal.withUTF8Buffer { text += String(decoding: $0, as: UTF8.self) }
        }

        @inline(never)
        public mutating func appendInterpolation(_ value: String) { text += value }

        @inline(never)
        public mutating func appendInterpolation(_ value: Substring) { text += value }

        @inline(never)
        public mutating func appendInterpolation(_ value: StaticString) { appendLiteral(value) }

        @inline(never)
        public mutating func appendInterpolation(_ value: Int) { text += String(value) }

        @inline(never)
        public mutating func appendInterpolation(_ value: UInt64) { text += String(value) }

        @inline(never)
        public mutating func appendInterpolation(_ value: Int64) { text += String(value) }

        @inline(never)
        public mutating func appendInterpolation(_ value: ErrorDetail) { text += value.text }

        @inline(never)
        public mutating func appendInterpolation(_ value: Double) { text += "\(value)" }

        public mutating func appendInterpolation(_ value: some FixedWidthInteger) {
            if value < 0 { appendInterpolation(Int64(value)) } else { appendInterpolation(UInt64(value)) }
        }

        #if !hasFeature(Embedded)
        /// Anything else, as String(describing:) gives it (the modules built with the full
        /// runtime: an `any Error` from a library, say).
        public mutating func appendInterpolation<T>(_ value: T) { text += String(describing: value) }
        #endif
    }
}

/// `items` separated by ", ": what `joined(separator: ", ")` gives, without that generic's
/// Embedded specialisation (800 bytes of aarch64 code for the three lists in messages).
func commaSeparated(_ items: [String]) -> String {
    var out = ""
    for i in items.indices {
        if i > 0 { out += ", " }
        out += items[i]
    }
    return out
}
