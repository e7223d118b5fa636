import XCTest
import Foundation
@testable import DDE
#if canImport(Glibc)
import Glibc
#endif

/// Asserts that `body` throws a DDEError with `status`; returns the error.
@discardableResult
func assertThrows<R>(_ status: Status, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws(DDEError) -> R) -> DDEError? {
    do {
        _ = try body()
        XCTFail("expected \(status.name), got success", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.status, status, "\(error.message)", file: file, line: line)
        return error
    }
}

/// A deterministic key for tests.
func testKey(_ n: UInt8) -> PublicKey {
    let seed = [UInt8](repeating: n, count: 32)
    return seed.withUnsafeBytes { (try? KeyPair.fromSeed($0))! }.publicKey
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass: a bounded wait for a counter
/// or a log line, never a fixed pause. Returns whether it held; when it gives up it says what it
/// waited for and how long (the test's own assertions then say what is wrong).
@discardableResult
func waitUntil(_ what: String, seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() >= deadline {
            print("waitUntil: gave up after \(seconds) s waiting for \(what)")
            return false
        }
        usleep(10_000)
    }
}

/// An acknowledgement instead of a pause after subscribe or unsubscribe: returns once the broker
/// has handled every subscription change `t` made before. The broker handles one client's packets
/// in order, so when `t` gets back a message it published to a fresh topic it subscribed to just
/// now, whatever it sent earlier has been handled. Fails the test if another message comes first,
/// or if the fence's own message does not come back within `seconds`.
func fence(_ t: MQTTTransport, seconds: Double = 5, file: StaticString = #filePath, line: UInt = #line) throws {
    let topic = "fence/\(UUID().uuidString.prefix(8))"
    try t.subscribe(topic)
    try t.publish(topic: topic, payload: Array("fence".utf8), retain: false)
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        guard let m = try t.receive(timeoutMs: 100) else { continue }
        if m.topic == topic { return }
        XCTFail("a message on \(m.topic) came before the fence on \(topic)", file: file, line: line)
    }
    XCTFail("gave up after \(seconds) s waiting for the fence message on \(topic) (the broker's acknowledgement)", file: file, line: line)
    throw DDEError(.noResult, "no fence")
}

/// A Mosquitto broker on 127.0.0.1 for one test, started by scripts/broker.sh (the helper every
/// suite uses): a free port (tried again on a fresh one if another process takes it first), its
/// own config, log and persistence folder; stopped (and its folder removed) when the test drops it.
final class TestBroker {
    let dir: URL
    private(set) var port = 0
    private let persistence: Bool
    private let lock = NSLock()
    private var helper: Process?
    private var brokerPid: pid_t = 0
    var url: String { "mqtt://127.0.0.1:\(port)" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/broker.sh")

    init(persistence: Bool = true) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dde-broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.persistence = persistence
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Starts the broker (again: on the same port, which the clients know) and returns once
    /// scripts/broker.sh has reported it listening ("port N pid P" on its stdout). The helper
    /// answers or gives up within 50 s; this gives up after 60 s and says so.
    func start() throws {
        var args = [TestBroker.script.path, dir.path]
        if persistence { args.append("--persistence") }
        if port != 0 { args += ["--port", "\(port)"] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        // A child inherits the signal mask of the thread that spawns it, and Dispatch worker
        // threads (restart(after:)) block SIGTERM: Mosquitto would then never see the SIGTERM
        // that stops it. Spawn with nothing blocked, as from the main thread.
        var empty = sigset_t(), saved = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        try p.run()
        let line = TestBroker.firstLine(of: out.fileHandleForReading, seconds: 60)
        let fields = line?.split(separator: " ") ?? []
        guard fields.count == 4, fields[0] == "port", fields[2] == "pid", let port = Int(fields[1]), let pid = pid_t(fields[3]) else {
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "TestBroker", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "no broker: scripts/broker.sh reported no port (\(line ?? "no answer within 60 s")): \(why)\n\(log)"])
        }
        lock.lock()
        self.port = port
        helper = p
        brokerPid = pid
        lock.unlock()
    }

    /// The first line `handle` yields, or nil at end of file or after `seconds`.
    private static func firstLine(of handle: FileHandle, seconds: Double) -> String? {
        let box = DataBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var data = Data()
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            box.set(data)
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        let text = String(decoding: box.get(), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
    }

    var log: String { (try? String(contentsOf: dir.appendingPathComponent("broker.log"), encoding: .utf8)) ?? "" }
    private(set) var startFailure: String?

    /// Starts it again after `seconds` from another thread (a failure is kept in `startFailure`).
    func restart(after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            do { try start() } catch { startFailure = "\(error)" }
        }
    }

    /// SIGTERM to the helper, which stops Mosquitto with SIGTERM (it saves its persistence file)
    /// and exits once Mosquitto has; after 5 s both are killed.
    func stop() {
        lock.lock()
        let p = helper, pid = brokerPid
        helper = nil
        brokerPid = 0
        lock.unlock()
        guard let p else { return }
        if p.isRunning {
            p.terminate()
            let deadline = Date().addingTimeInterval(5)
            while p.isRunning && Date() < deadline { usleep(10_000) }
            if p.isRunning {
                print("TestBroker: gave up after 5 s waiting for scripts/broker.sh to stop the broker on port \(port); killing both")
                kill(pid, SIGKILL)
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            }
        }
    }

    /// A port nothing listens on now (for the "no broker there" tests).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "TestBroker", code: 2) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw NSError(domain: "TestBroker", code: 3) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
