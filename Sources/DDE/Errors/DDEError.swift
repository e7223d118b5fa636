// The error every fallible function of the core throws: a status code (Status.swift, generated
// from abi/dde.abi) and what exactly went wrong.

/// The one error type of the core. Typed throws (`throws(DDEError)`) keep the core free of
/// existentials so it compiles under Embedded Swift.
public struct DDEError: Error, Sendable {
    public let status: Status
    /// What exactly went wrong, for a human: which field, which position, what to do.
    public let detail: String

    public init(_ status: Status, _ detail: String) {
        self.status = status
        self.detail = detail
    }

    /// "DDE_ERR_X: detail".
    public var message: String { "\(status.name): \(detail)" }
}
