// What the commands read from files and standard input, with a size limit applied while reading:
// a file, a pipe, /dev/zero or a process substitution (`<(cat result.json)`, a /dev/fd path) is
// read up to one byte past the limit and refused there, so
// no input costs more memory than its limit or more time than reading that much.
import CDDE
import DDE
import DDEExecutor
import Foundation

/// The most bytes one input of a kind may have, why, and what to do about a larger one.
struct InputLimit {
    let bytes: Int
    /// Where the limit comes from, e.g. "the protocol's limit for a document (DDE_JSON_MAX_BYTES)".
    let origin: String
    /// What the user can do, e.g. how to raise it.
    let remedy: String

    /// A task, result, spec, state or any protocol document: peers refuse larger ones.
    static let document = InputLimit(
        bytes: JSONLimits.default.maxBytes,
        origin: "the protocol's limit for a document (DDE_JSON_MAX_BYTES)",
        remedy: "no peer accepts a larger one, so it cannot be raised: make the document smaller")
    /// A file of evidence documents, one per line (`dde evidence check/import`).
    static let evidenceFile = InputLimit(
        bytes: 16 << 20,
        origin: "the limit for a file of evidence documents",
        remedy: "split it into several files (one document per line) and read each")
    /// A WebAssembly module (or its text form).
    static let module = InputLimit(
        bytes: CodeStore.maxModuleBytes,
        origin: "the protocol's limit for a module (DDE_MAX_MODULE_BYTES)",
        remedy: "no executor accepts a larger one, so it cannot be raised: make the module smaller")
}

/// Reads `path`, or standard input for "-" or nil, refusing more than `limit.bytes` as soon as it
/// is read (DDE_ERR_LIMIT, saying what the limit is and what to do). `what` names the input in
/// messages ("task", "result").
func readInput(_ path: String?, what: String, limit: InputLimit = .document) throws(DDEError) -> [UInt8] {
    let file = path == "-" ? nil : path  // nil: standard input
    let name = file.map { "\(what) \($0)" } ?? "\(what) (standard input)"
    let bytes: [UInt8]
    if file == nil, let buffered = Console.current.bufferedInput {
        guard buffered.count <= limit.bytes else { throw tooLarge(name, limit) }
        return buffered
    }
    var buffer = [UInt8](repeating: 0, count: limit.bytes)
    var length = 0
    let err = buffer.withUnsafeMutableBufferPointer { b in
        guard let file else { return cdde_read_fd(0, b.baseAddress, b.count, &length) }
        return cdde_read_file(file, b.baseAddress, b.count, &length)
    }
    switch err {
    case 0:
        bytes = Array(buffer[0..<length])
    case EFBIG:
        throw tooLarge(name, limit)
    case ENOENT:
        throw DDEError(.io, "cannot read \(name): no such file")
    case EACCES:
        throw DDEError(.io, "cannot read \(name): permission denied")
    case EISDIR:
        throw DDEError(.io, "cannot read \(name): it is a directory")
    default:
        throw DDEError(.io, "cannot read \(name): \(String(cString: strerror(err)))")
    }
    return bytes
}

private func tooLarge(_ name: String, _ limit: InputLimit) -> DDEError {
    DDEError(.limit, "\(name) is larger than \(limit.bytes) bytes (\(mebibytes(limit.bytes))), \(limit.origin): \(limit.remedy)")
}

private func mebibytes(_ n: Int) -> String {
    n % (1 << 20) == 0 ? "\(n >> 20) MiB" : n % 1024 == 0 ? "\(n >> 10) KiB" : "\(n) bytes"
}
