// The content-addressed code store (PROTOCOL.md section 4): a folder of WebAssembly modules, each
// in a file named `<sha256 hex of its bytes>.wasm`. A module is found by the task's
// `dappCodeHash` and hashed again on every load, so a file changed on disk (or a module fetched
// from a peer under the wrong name) is refused, never run.
import DDE
import Foundation
import WAT
import WasmParser

public struct CodeStore: Sendable {
    /// Largest module the store accepts or loads (16 MiB): a bound on what a peer can make us
    /// hash, write and parse.
    public static let maxModuleBytes = ABILimits.maxModuleBytes

    public let directory: URL

    /// Opens (and creates when missing) the store folder.
    public init(directory: URL) throws(DDEError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw DDEError(.io, "cannot create the code store folder \(directory.path): \(error.localizedDescription)")
        }
    }

    /// The file a module of this hash lives in.
    public func path(for hash: Digest) -> URL {
        directory.appendingPathComponent(hash.hex + ".wasm")
    }

    /// Stores `bytes` under their SHA-256 and returns it. With `expecting`, refuses bytes that
    /// hash to anything else (`.codeHash`): use it for code fetched from a peer by hash.
    @discardableResult
    public func add(_ bytes: [UInt8], expecting: Digest? = nil) throws(DDEError) -> Digest {
        guard bytes.count <= CodeStore.maxModuleBytes else {
            throw DDEError(.limit, "module is \(bytes.count) bytes, the code store takes at most \(CodeStore.maxModuleBytes)")
        }
        let hash = SHA256.hash(bytes)
        if let expecting, expecting != hash {
            throw DDEError(.codeHash, "module bytes hash to \(hash.hex), not to the expected \(expecting.hex): refusing to store them")
        }
        let target = path(for: hash)
        if FileManager.default.fileExists(atPath: target.path) {
            // Already there; a corrupted copy is replaced by the good one.
            if (try? module(for: hash)) != nil { return hash }
        }
        // Write to a temporary name and rename, so a reader never sees half a module.
        let temporary = directory.appendingPathComponent(".\(hash.hex).\(UUID().uuidString).tmp")
        do {
            try Data(bytes).write(to: temporary)
            // rename(2) replaces an existing (corrupt) file atomically.
            guard rename(temporary.path, target.path) == 0 else {
                throw DDEError(.io, "cannot rename \(temporary.path) to \(target.path): errno \(errno)")
            }
        } catch let error as DDEError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw DDEError(.io, "cannot write \(target.path): \(error.localizedDescription)")
        }
        return hash
    }

    /// Compiles WebAssembly text with WasmKit's WAT and stores the binary module.
    @discardableResult
    public func add(wat: String) throws(DDEError) -> Digest {
        try add(CodeStore.compile(wat: wat))
    }

    /// Whether a module of this hash is in the store (without checking its bytes).
    public func contains(_ hash: Digest) -> Bool {
        FileManager.default.fileExists(atPath: path(for: hash).path)
    }

    /// The module bytes for `hash`, re-hashed on load.
    public func module(for hash: Digest) throws(DDEError) -> [UInt8] {
        let file = path(for: hash)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw DDEError(.codeNotFound, "no module \(hash.hex) in the code store \(directory.path): add it (dde code add) or fetch it from a peer")
        }
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            if let size = attributes[.size] as? NSNumber, size.intValue > CodeStore.maxModuleBytes {
                throw DDEError(.limit, "\(file.path) is \(size.intValue) bytes, more than the \(CodeStore.maxModuleBytes) a module may have")
            }
            data = try Data(contentsOf: file)
        } catch let error as DDEError {
            throw error
        } catch {
            throw DDEError(.io, "cannot read \(file.path): \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        let actual = SHA256.hash(bytes)
        guard actual == hash else {
            throw DDEError(.codeHash, "\(file.path) hashes to \(actual.hex), not to its name: the file is corrupt or was replaced; delete it and add the module again")
        }
        return bytes
    }

    /// WebAssembly text to binary, through WasmKit's WAT. Every proposal WAT knows is enabled
    /// here on purpose: the store keeps any module, and the sandbox decides what may run.
    public static func compile(wat: String) throws(DDEError) -> [UInt8] {
        do {
            return try wat2wasm(wat, features: .all)
        } catch {
            throw DDEError(.codeInvalid, "WebAssembly text does not compile: \(error)")
        }
    }
}
