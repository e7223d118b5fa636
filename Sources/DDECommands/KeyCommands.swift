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

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            writeOutput(try parseJSON(try readInput(file, what: "document"), what: file ?? "stdin").canonicalBytes())
        }
    }
}
