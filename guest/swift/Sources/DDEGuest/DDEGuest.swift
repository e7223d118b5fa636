// DDEGuest: write dde dApps in Embedded Swift (docs/DAPPS.md). Compile this file together with
// the dApp's own sources into one module for wasm32-unknown-none-wasm (guest/swift/dde_guest_swift.mk
// has the command). The host functions come from guest/c/dde_guest.h (module CDDEGuest), so C
// and Swift dApps share one declaration of the ABI (docs/EXECUTION.md section 3).
//
//   @_expose(wasm, "send")
//   public func send() -> Int32 { ...; return DDE.ok }
//
// Every host call is one step of the execution trace, which hashes its arguments (pointers
// included): the same source built the same way gives the same trace.
import CDDEGuest

public enum DDE {
    /// Return from an action: a result.
    public static let ok: Int32 = 0
    /// Return from an action: the task failed (DDE_ERR_ACTION_FAILED, no proof).
    public static let fail: Int32 = 1

    // MARK: Memory by address
    // Swift pointers cannot name address 0 (that is nil), and fixed addresses are how a dApp
    // keeps its trace independent of the compiler's layout: these take plain addresses.
    // The linker flag --global-base=4096 keeps [0, 4096) free for them.

    /// A pointer to a fixed address (nil for address 0: use the address functions there).
    @inline(__always) public static func pointer(_ address: UInt32) -> UnsafeMutableRawPointer? { dde_at(address) }
    @inline(__always) public static func load(_ address: UInt32) -> UInt8 { dde_load8(address) }
    @inline(__always) public static func store(_ value: UInt8, at address: UInt32) { dde_store8(address, value) }
    /// Copies count bytes between addresses (overlap allowed).
    @inline(__always) public static func copy(from source: UInt32, to destination: UInt32, count: UInt32) { dde_copy(destination, source, count) }
    /// Puts the UTF-8 bytes of a literal at an address; returns how many.
    @discardableResult
    public static func put(_ text: StaticString, at address: UInt32) -> UInt32 {
        let n = UInt32(text.utf8CodeUnitCount)
        dde_copy_in(address, text.utf8Start, n)
        return n
    }
    /// Whether the count bytes at a and b are equal.
    public static func equal(_ a: UInt32, _ b: UInt32, count: UInt32) -> Bool { dde_compare(a, b, count) == 0 }

    // MARK: Input and result

    /// Byte length of the input (the JCS bytes of the task's payload).
    public static func inputSize() -> UInt32 { UInt32(bitPattern: dde_input_size()) }

    /// Reads the input to an address when it fits in capacity; its length, or nil (nothing
    /// read) when it is longer.
    public static func readInput(at address: UInt32, capacity: UInt32) -> UInt32? {
        let size = dde_read_input(dde_at(address), capacity)
        return size < 0 ? nil : UInt32(size)
    }

    /// input_read with an address: copies the first min(count, input size) bytes; how many.
    @discardableResult
    public static func inputRead(at address: UInt32, count: UInt32) -> UInt32 {
        UInt32(bitPattern: dde_input_read(dde_at(address), count))
    }

    /// The whole input (heap memory: the bump allocator below).
    public static func input() -> [UInt8] {
        let size = Int(inputSize())
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            _ = dde_input_read(buffer.baseAddress, UInt32(size))
            count = size
        }
    }

    /// Appends count bytes at an address to the result.
    public static func write(at address: UInt32, count: UInt32) { _ = dde_output_write(dde_at(address), count) }
    public static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = dde_output_write($0.baseAddress, UInt32($0.count)) }
    }
    public static func write(_ text: StaticString) {
        _ = dde_output_write(text.utf8Start, UInt32(text.utf8CodeUnitCount))
    }

    // MARK: Decimal numbers

    /// Decimal text of v at an address (at most 20 bytes); returns its length.
    @discardableResult
    public static func formatDecimal(_ v: UInt64, at address: UInt32) -> UInt32 {
        var digits: UInt32 = 0
        var rest = v
        repeat { digits += 1; rest /= 10 } while rest != 0
        rest = v
        var i = digits
        repeat {
            i -= 1
            store(UInt8(truncatingIfNeeded: 48 &+ rest % 10), at: address &+ i)
            rest /= 10
        } while i > 0
        return digits
    }

    /// 1 to 18 decimal digits at [address, address+count) (so no overflow), else nil.
    public static func parseDecimal(at address: UInt32, count: UInt32) -> UInt64? {
        guard count >= 1, count <= 18 else { return nil }
        var v: UInt64 = 0
        for i in 0..<count {
            let c = load(address &+ i)
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + UInt64(c - 48)  // checked (18 digits cannot overflow): __multi3 on wasm32
        }
        return v
    }

    /// The UTF-8 bytes of a literal (keys, JSON pieces).
    public static func bytes(_ text: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The decimal text of v.
    public static func decimal(_ v: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        var rest = v
        repeat { digits.append(UInt8(truncatingIfNeeded: 48 + rest % 10)); rest /= 10 } while rest != 0
        return digits.reversed()
    }

    // MARK: State (capabilities state.read, state.write)

    /// The value of a key, following the ABI's rule: ask with a 256-byte buffer and, when the
    /// value is longer, again with one of its length (two trace steps then). nil when absent.
    public static func get(_ key: [UInt8]) -> [UInt8]? {
        key.withUnsafeBytes { k -> [UInt8]? in
            var length: UInt32 = 0
            guard let value = dde_get(k.baseAddress, UInt32(k.count), &length) else { return nil }
            return Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
        }
    }
    /// state_get with addresses: the value's length (copied only when it fits), or -1 if absent.
    public static func get(keyAt key: UInt32, count: UInt32, into value: UInt32, capacity: UInt32) -> Int32 {
        dde_state_get(dde_at(key), count, dde_at(value), capacity)
    }
    public static func set(_ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in
            _ = dde_state_set(k.baseAddress, UInt32(k.count), v.baseAddress, UInt32(v.count))
        } }
    }
    public static func set(keyAt key: UInt32, count: UInt32, valueAt value: UInt32, valueCount: UInt32) {
        _ = dde_state_set(dde_at(key), count, dde_at(value), valueCount)
    }
    /// Deletes a key; true when it had a value.
    @discardableResult
    public static func delete(_ key: [UInt8]) -> Bool {
        key.withUnsafeBytes { dde_state_delete($0.baseAddress, UInt32($0.count)) == 1 }
    }

    // MARK: Crypto (crypto.hash, crypto.verify) and log

    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { d in digest.withUnsafeMutableBytes { o in
            _ = dde_sha256(d.baseAddress, UInt32(d.count), o.baseAddress)
        } }
        return digest
    }
    /// Whether a 64-byte Ed25519 signature over message verifies with a 32-byte public key.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        return signature.withUnsafeBytes { s in message.withUnsafeBytes { m in publicKey.withUnsafeBytes { p in
            dde_ed25519_verify(s.baseAddress, m.baseAddress, UInt32(m.count), p.baseAddress) == 1
        } } }
    }
    public static func log(_ text: StaticString) { _ = dde_log(text.utf8Start, UInt32(text.utf8CodeUnitCount)) }
}
