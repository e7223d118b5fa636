import DDE
import WAT

/// Compiles WebAssembly text to binary with WasmKit's WAT.
func compileWAT(_ text: [UInt8], path: String) throws(DDEError) -> [UInt8] {
    do {
        return try wat2wasm(String(decoding: text, as: UTF8.self))
    } catch {
        throw DDEError(.codeInvalid, "\(path) is not valid WebAssembly text: \(error)")
    }
}
