// The C boundary. Every exported function checks its arguments here before the core sees them,
// and turns every failure into a status code plus a thread-local message (dde_errmsg): a Swift
// trap inside an exported function would kill the host firmware, so nothing past this point may
// receive a NULL pointer, a negative length or an unterminated string.
import CDDE

/// Largest single input buffer accepted from C (a document, a module, a file). The JSON parser
/// has its own, smaller limits; this one only stops absurd lengths before any allocation.
let maxInputBytes = ABILimits.maxInputBytes

/// Records the error for dde_errcode/dde_errmsg and returns its code.
@inline(never)
func report(_ error: DDEError) -> Int32 {
    var message = error.detail
    message.withUTF8 { buf in
        buf.withMemoryRebound(to: CChar.self) { c in
            cdde_set_error(error.status.rawValue, c.baseAddress, c.count)
        }
    }
    return error.status.rawValue
}

/// Runs `body`, clearing the thread's last error first; returns DDE_OK or the failure's code.
@inline(__always)
func guarded(_ body: () throws(DDEError) -> Void) -> Int32 {
    cdde_clear_error()
    do throws(DDEError) {
        try body()
        return Status.ok.rawValue
    } catch {
        return report(error)
    }
}

/// A checked view of (pointer, length) from C. A NULL pointer is accepted only with length 0.
func inputBytes(_ pointer: UnsafeRawPointer?, _ length: Int, _ name: String) throws(DDEError) -> UnsafeRawBufferPointer {
    guard length >= 0, length <= maxInputBytes else {
        // The caller's size_t as it was: a length of 2^31 or more is negative as a 32-bit Int.
        throw DDEError(.argument, "\(name): length \(UInt(bitPattern: length)) is out of range (0...\(maxInputBytes))")
    }
    if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
    guard let pointer else { throw DDEError(.argument, "\(name) is NULL") }
    return UnsafeRawBufferPointer(start: pointer, count: length)
}

/// A checked fixed-size input such as a key or a hash.
func fixedInput(_ pointer: UnsafeRawPointer?, _ count: Int, _ name: String) throws(DDEError) -> UnsafeRawBufferPointer {
    guard let pointer else { throw DDEError(.argument, "\(name) is NULL") }
    return UnsafeRawBufferPointer(start: pointer, count: count)
}

/// A NUL-terminated C string, bounded: refuses NULL and anything longer than `maxLength` bytes.
func inputString(_ pointer: UnsafePointer<CChar>?, _ name: String, maxLength: Int = ABILimits.maxPathBytes) throws(DDEError) -> String {
    guard let pointer else { throw DDEError(.argument, "\(name) is NULL") }
    let length = strnlen(pointer, maxLength + 1)
    guard length <= maxLength else {
        throw DDEError(.argument, "\(name) is longer than \(maxLength) bytes (or not NUL-terminated)")
    }
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length)
    guard let s = validatedUTF8(bytes) else { throw DDEError(.encoding, "\(name) is not valid UTF-8") }
    return s
}

/// Decodes UTF-8, refusing invalid sequences instead of repairing them.
func validatedUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    let typed = bytes.bindMemory(to: UInt8.self)
    return isValidUTF8(typed) ? String(decoding: typed, as: UTF8.self) : nil
}

/// A checked output pointer.
func outputPointer<T>(_ pointer: UnsafeMutablePointer<T>?, _ name: String) throws(DDEError) -> UnsafeMutablePointer<T> {
    guard let pointer else { throw DDEError(.argument, "\(name) is NULL") }
    return pointer
}

/// Copies `bytes` into a malloc'd, NUL-terminated buffer the caller frees with dde_free.
func libraryOwned(_ bytes: [UInt8]) throws(DDEError) -> UnsafeMutablePointer<CChar> {
    guard let raw = malloc(bytes.count + 1) else { throw DDEError(.noMemory, "allocating \(bytes.count + 1) bytes") }
    let p = raw.assumingMemoryBound(to: CChar.self)
    bytes.withUnsafeBytes { b in
        if let base = b.baseAddress { memcpy(raw, base, b.count) }
    }
    p[bytes.count] = 0
    return p
}

/// Hands a document to C: *out = library-owned copy, *outLength = its length without the NUL.
func emit(_ bytes: [UInt8], _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
          _ outLength: UnsafeMutablePointer<Int>?) throws(DDEError) {
    let o = try outputPointer(out, "out")
    let copy = try libraryOwned(bytes)
    o.pointee = copy
    outLength?.pointee = bytes.count
}
