// The `dde` command line as a library: every subcommand prints machine-readable JSON on stdout
// where it produces a document, and on failure one line on stderr ("dde: DDE_ERR_X: what and
// what to do") with the DDE status code as the exit status (see include/dde.h), so scripts can
// branch on it. The `dde` executable (Sources/DDECLI) is a main over `DDECommand`; tests run
// commands in process with `DDECommand.run(_:console:)` and read what they wrote.
import ArgumentParser
import DDE
import Foundation

public struct DDECommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dde",
        abstract: "Verifiable delegated compute: create tasks, verify execution proofs, keep receipts.",
        discussion: "Protocol: docs/PROTOCOL.md. Exit status: 0 on success, otherwise the DDE_ERR_* code.",
        version: "dde \(DDE.Version.string) (protocol v1)",
        subcommands: [Demo.self, Keygen.self, Canon.self, TaskCommand.self, Verify.self, CodeCommand.self, Exec.self,
                      AuditCommand.self, Commit.self, Chain.self, Peers.self, EvidenceCommand.self, Delegate.self, Node.self])

    public init() {}

    /// Parses and runs one command line in this process (`arguments` without the program name),
    /// as the `dde` executable would, writing to `console` instead of the standard streams;
    /// returns the exit status `dde` would exit with (0, an ArgumentParser usage error's, or the
    /// DDE_ERR_* code). Help and usage errors go to `console` too. One command at a time.
    public static func run(_ arguments: [String], console: Console) -> Int32 {
        Console.current = console
        defer { Console.current = .standard }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                console.write(Array((message + "\n").utf8), toStandardError: code != .success)
            }
            return code.rawValue
        }
    }
}

/// Where the commands read standard input and write their output: the process's streams, or
/// buffers when a test runs a command in process. Each write is whole (node threads log at once).
public final class Console: @unchecked Sendable {
    public static let standard = Console(streams: ())
    private static let currentLock = NSLock()
    nonisolated(unsafe) private static var currentConsole = Console.standard
    /// The console of the command running now.
    static var current: Console {
        get { currentLock.lock(); defer { currentLock.unlock() }; return currentConsole }
        set { currentLock.lock(); currentConsole = newValue; currentLock.unlock() }
    }

    private let lock = NSLock()
    private let buffered: Bool
    private let input: [UInt8]
    private var out: [UInt8] = []
    private var err: [UInt8] = []

    private init(streams: Void) {
        buffered = false
        input = []
    }

    /// A console that keeps what is written (read it back with `standardOutput` and
    /// `standardError`) and gives `standardInput` to commands that read standard input.
    public init(standardInput: [UInt8] = []) {
        buffered = true
        input = standardInput
    }

    /// What commands wrote to standard output (a buffered console only).
    public var standardOutput: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    /// What commands wrote to standard error (a buffered console only).
    public var standardError: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }

    func write(_ bytes: [UInt8], toStandardError: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        if buffered {
            if toStandardError { err += bytes } else { out += bytes }
        } else {
            (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(Data(bytes))
        }
    }

    /// The standard input a test gave a buffered console; nil: the process's standard input.
    var bufferedInput: [UInt8]? { buffered ? input : nil }
}

/// Runs a command body, turning a DDEError into the one-line message and the status exit code.
func run(_ body: () throws(DDEError) -> Void) throws {
    do throws(DDEError) {
        try body()
    } catch {
        Console.current.write(Array("dde: \(error.message)\n".utf8), toStandardError: true)
        throw ExitCode(error.status.rawValue)
    }
}

/// A document (or any bytes) and a newline on standard output.
func writeOutput(_ bytes: [UInt8]) {
    Console.current.write(bytes + [0x0a])
}

/// A line of text on standard output.
func writeLine(_ line: String) {
    Console.current.write(Array((line + "\n").utf8))
}

/// One line on standard error, whole even when several threads log at once.
func logLine(_ line: String) {
    Console.current.write(Array((line + "\n").utf8), toStandardError: true)
}

func parseJSON(_ bytes: [UInt8], what: String) throws(DDEError) -> JSON {
    do throws(DDEError) {
        return try JSONParser.parse(bytes)
    } catch {
        throw DDEError(error.status, "\(what): \(error.detail)")
    }
}

func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
