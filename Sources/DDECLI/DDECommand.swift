// The `dde` command line. Every subcommand prints machine-readable JSON on stdout where it
// produces a document, and on failure one line on stderr ("dde: DDE_ERR_X: what and what to do")
// with the DDE status code as the exit status (see include/dde.h), so scripts can branch on it.
import ArgumentParser
import DDE
import Foundation

@main
struct DDECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dde",
        abstract: "Verifiable delegated compute: create tasks, verify execution proofs, keep receipts.",
        discussion: "Protocol: docs/PROTOCOL.md. Exit status: 0 on success, otherwise the DDE_ERR_* code.",
        version: "dde \(DDE.Version.string) (protocol v1)",
        subcommands: [Demo.self, Keygen.self, Canon.self, TaskCommand.self, Verify.self, CodeCommand.self, Exec.self,
                      AuditCommand.self, Commit.self, Chain.self, Peers.self, EvidenceCommand.self, Delegate.self, Node.self])
}

/// Runs a command body, turning a DDEError into the one-line message and the status exit code.
func run(_ body: () throws(DDEError) -> Void) throws {
    do throws(DDEError) {
        try body()
    } catch {
        FileHandle.standardError.write(Data("dde: \(error.message)\n".utf8))
        throw ExitCode(error.status.rawValue)
    }
}

/// Reads a file, or standard input for "-" or nil.
func readInput(_ path: String?, what: String) throws(DDEError) -> [UInt8] {
    if path == nil || path == "-" {
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
    guard let data = FileManager.default.contents(atPath: path!) else {
        throw DDEError(.io, "cannot read \(what) \(path!): no such file or not readable")
    }
    return Array(data)
}

func writeOutput(_ bytes: [UInt8]) {
    FileHandle.standardOutput.write(Data(bytes + [0x0a]))
}

func parseJSON(_ bytes: [UInt8], what: String) throws(DDEError) -> JSON {
    do throws(DDEError) {
        return try JSONParser.parse(bytes)
    } catch {
        throw DDEError(error.status, "\(what): \(error.detail)")
    }
}

func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
