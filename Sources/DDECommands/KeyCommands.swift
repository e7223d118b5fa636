import ArgumentParser
import DDE
import Foundation

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an Ed25519 key file (mode 0600) and print its public key.",
        discussion: "The file holds the seed and the public key as JSON; keep it secret.")

    @Option(name: .shortAndLong, help: "Where to write the key file.")
    var out: String = "dde.key"

    @Flag(help: "Overwrite an existing key file.")
    var force = false

    @Flag(help: "Print {\"publicKey\": …, \"path\": …} instead of the bare key.")
    var json = false

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            if !force && FileManager.default.fileExists(atPath: out) {
                throw DDEError(.io, "\(out) exists; pass --force to replace it (the old key is lost)")
            }
            let pair = KeyPair.generate()
            try KeyFile.save(pair, to: out)
            if json {
                writeOutput(JSON.object(JSONObject(uniqueMembers: [
                    .init("path", .string(out)), .init("publicKey", .string(pair.publicKey.hex)),
                ])).canonicalBytes())
            } else {
                writeLine(pair.publicKey.hex)
            }
        }
    }
}

struct Canon: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the RFC 8785 canonical form of a JSON document.",
        discussion: "Reads FILE, or standard input when FILE is omitted or '-'.")

    @Argument(help: "The JSON document.")
    var file: String?

    @Option(help: ArgumentHelp("Largest document to read, in bytes (default: the protocol's 1 MiB).",
                               discussion: "Only for documents that are not sent to peers: they refuse any over 1 MiB."))
    var maxBytes: Int?

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            var limits = JSONLimits.default
            var input = InputLimit.document
            if let maxBytes {
                guard maxBytes > 0, maxBytes <= ABILimits.maxInputBytes else {
                    throw DDEError(.argument, "--max-bytes must be from 1 to \(ABILimits.maxInputBytes) (64 MiB)")
                }
                limits.maxBytes = maxBytes
                limits.maxStringBytes = max(limits.maxStringBytes, maxBytes)
                input = InputLimit(bytes: maxBytes, origin: "the limit --max-bytes set", remedy: "raise --max-bytes")
            } else {
                input = InputLimit(bytes: input.bytes, origin: input.origin, remedy: "dde canon --max-bytes N reads larger ones (peers still refuse them)")
            }
            let bytes = try readInput(file, what: "document", limit: input)
            let json: JSON
            do throws(DDEError) {
                json = try JSONParser.parse(bytes, limits: limits)
            } catch {
                throw DDEError(error.status, "\(file ?? "stdin"): \(error.detail)")
            }
            writeOutput(json.canonicalBytes())
        }
    }
}
