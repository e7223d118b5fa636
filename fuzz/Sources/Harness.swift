// One libFuzzer binary, many harnesses: scripts/fuzz.sh links the core (Sources/DDE, built once
// with -enable-testing) with these files into build/fuzz/dde-fuzz and makes a symlink
// build/fuzz/fuzz-NAME per harness; the name the binary was started under picks the harness
// (or DDE_FUZZ_TARGET=NAME). One binary keeps the build to one link instead of one per harness.
//
// A harness throws away every clean refusal (a DDEError) and traps on anything else: a Swift
// runtime trap (index, overflow, unwrap) in the core is a crash by itself, and `expect` turns a
// broken invariant (a round trip that does not hold, two readers that disagree) into one too.
//
//   dde-fuzz --list              the harness names
//   dde-fuzz --write-seeds DIR   writes the generated seeds (signed tasks, results, evidence,
//                                receipts, key files) to DIR/NAME/ (fuzz/corpus holds a copy)
@testable import DDE
import Glibc

struct Harness {
    let name: String
    let summary: String
    let run: (UnsafeRawBufferPointer) -> Void
    /// The input is one JSON document: the custom mutator may respell it (Respell.swift).
    var readsJSON = true
}

let harnesses: [Harness] = [
    Harness(name: "json", summary: "JSONParser, RFC 8785 canonical form, CanonicalFromInput", run: fuzzJSON),
    Harness(name: "number", summary: "JSON number text to Double against strtod; ES6 formatting round trip", run: fuzzNumber, readsJSON: false),
    Harness(name: "task", summary: "ComputeTask from bytes; TaskSpec to a created task and back", run: fuzzTask),
    Harness(name: "result", summary: "Verifier.verify on a fixed task; readPlain against the generic reader", run: fuzzResult),
    Harness(name: "envelope", summary: "Envelope.decode and every payload type", run: fuzzEnvelope),
    Harness(name: "presence", summary: "messages on presence and evidence topics into a Delegator", run: fuzzPresence, readsJSON: false),
    Harness(name: "session", summary: "answers (results, errors, anything) to a real delegation in each mode", run: fuzzSession, readsJSON: false),
    Harness(name: "evidence", summary: "EvidenceDocument(bytes:) and its verdicts", run: fuzzEvidence),
    Harness(name: "receipt", summary: "Receipt(bytes:), its hash and canonical writer", run: fuzzReceipt),
    Harness(name: "keyfile", summary: "the key file parser (KeyFile.decode)", run: fuzzKeyFile),
    Harness(name: "storeoptions", summary: "the options JSON of Store open (ReputationConfig) and the rules under it", run: fuzzStoreOptions),
    Harness(name: "chunk", summary: "a state tree chunk's body as read from the store file; schema 3's as the migration converts it", run: fuzzChunk, readsJSON: false),
]

nonisolated(unsafe) var selected: Harness?
/// DDE_FUZZ_VERBOSE=1: harnesses that can say what an input did print it (to check seeds).
nonisolated(unsafe) var verbose = false

/// Traps with `message` when `condition` is false: a broken invariant is a finding.
@inline(__always)
func expect(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz invariant: \(message())") }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

private func pick(_ name: String) -> Harness? {
    harnesses.first { $0.name == name }
}

private func writeSeedsAndExit(_ dir: String) -> Never {
    var written = 0
    for (harness, files) in Seeds.all() {
        let folder = "\(dir)/\(harness)"
        _ = mkdir(dir, 0o755)
        _ = mkdir(folder, 0o755)
        for (name, bytes) in files {
            let path = "\(folder)/\(name)"
            guard let f = fopen(path, "wb") else {
                fputs("dde-fuzz: cannot write \(path)\n", stderr)
                exit(1)
            }
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
            written += 1
        }
    }
    print("dde-fuzz: wrote \(written) seed files under \(dir)")
    exit(0)
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let count = Int(argc.pointee)
    var args: [String] = []
    for i in 0..<count { if let a = argv.pointee[i] { args.append(String(cString: a)) } }
    if args.count >= 2 && args[1] == "--list" {
        for h in harnesses { print("\(h.name)\t\(h.summary)") }
        exit(0)
    }
    if args.count >= 3 && args[1] == "--write-seeds" { writeSeedsAndExit(args[2]) }
    var name = ""
    if let env = getenv("DDE_FUZZ_TARGET") { name = String(cString: env) }
    if name.isEmpty, let program = args.first {
        let base = program.split(separator: "/").last.map(String.init) ?? program
        if base.hasPrefix("fuzz-") { name = String(base.dropFirst(5)) }
    }
    guard let h = pick(name) else {
        fputs("dde-fuzz: no harness named '\(name)': start it as fuzz-NAME (a symlink) or set DDE_FUZZ_TARGET; "
              + "harnesses: \(harnesses.map(\.name).joined(separator: " "))\n", stderr)
        exit(2)
    }
    selected = h
    verbose = getenv("DDE_FUZZ_VERBOSE") != nil
    Fixture.prepare()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let h = selected else { return 0 }
    h.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
