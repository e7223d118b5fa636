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

/// A Mosquitto broker on 127.0.0.1 for one test: a free port, its own config and persistence
/// folder, stopped (and its folder removed) when the test drops it.
final class TestBroker {
    let dir: URL
    let port: Int
    private var process: Process?
    var url: String { "mqtt://127.0.0.1:\(port)" }

    init(persistence: Bool = true, extraConfig: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dde-broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        port = try TestBroker.freePort()
        // Run as root, Mosquitto drops to the user "mosquitto", which cannot write the log or the
        // persistence file into this folder; `user` names the current user (ignored when not root).
        let user = getpwuid(getuid()).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "root"
        var config = """
        user \(user)
        listener \(port) 127.0.0.1
        allow_anonymous true
        set_tcp_nodelay true
        log_dest file \(dir.path)/broker.log
        log_type error
        log_type warning
        log_type notice
        log_type information

        """
        if persistence {
            config += "persistence true\npersistence_location \(dir.path)/\nautosave_interval 1\n"
        }
        config += extraConfig
        try config.write(to: dir.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/mosquitto")
        p.arguments = ["-c", dir.appendingPathComponent("mosquitto.conf").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        // Mosquitto accepts within milliseconds; wait until a TCP connect succeeds (at most 5 s).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if TestBroker.canConnect(port) { return }
            usleep(10_000)
        }
        stop()
        throw NSError(domain: "TestBroker", code: 1, userInfo: [NSLocalizedDescriptionKey: "mosquitto did not start on port \(port)"])
    }

    var log: String { (try? String(contentsOf: dir.appendingPathComponent("broker.log"), encoding: .utf8)) ?? "" }
    private(set) var startFailure: String?

    /// Starts it again after `seconds` from another thread (a failure is kept in `startFailure`).
    func restart(after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            do { try start() } catch { startFailure = "\(error)" }
        }
    }

    /// SIGTERM: Mosquitto saves its persistence file and exits.
    func stop() {
        guard let p = process else { return }
        process = nil
        if p.isRunning {
            p.terminate()
            let deadline = Date().addingTimeInterval(5)
            while p.isRunning && Date() < deadline { usleep(10_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
    }

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

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                connect(fd, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
