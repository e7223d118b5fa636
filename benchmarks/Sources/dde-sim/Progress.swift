// Progress on stderr for long runs: a line every few seconds with the cells running, their
// tasks done, the overall rate and the time left.
import Foundation

final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var done: [Int]
    private var names: [String]
    private var running = Set<Int>()
    private let perCell: Int
    private let total: Int
    private let started = Date()
    private var lastPrint = Date()
    let interval: TimeInterval
    let quiet: Bool

    init(names: [String], perCell: Int, interval: TimeInterval = 3, quiet: Bool = false) {
        self.names = names
        done = [Int](repeating: 0, count: names.count)
        self.perCell = perCell
        total = perCell * names.count
        self.interval = interval
        self.quiet = quiet
    }

    func start(_ cell: Int) { lock.lock(); running.insert(cell); lock.unlock() }

    func finish(_ cell: Int, seconds: Double) {
        lock.lock()
        running.remove(cell)
        done[cell] = perCell
        let line = "dde-sim: done \(names[cell]) in \(String(format: "%.1f", seconds)) s"
        lock.unlock()
        if !quiet { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) }
    }

    func tick(_ cell: Int) {
        lock.lock()
        done[cell] += 1
        guard !quiet, done[cell] & 63 == 0, Date().timeIntervalSince(lastPrint) >= interval else { lock.unlock(); return }
        lastPrint = Date()
        let all = done.reduce(0, +)
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(all) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - all) / rate : 0
        let cells = running.sorted().map { "\(names[$0]) \(done[$0])/\(perCell)" }.joined(separator: ", ")
        lock.unlock()
        let line = String(format: "dde-sim: %@ | %d/%d tasks, %.0f tasks/s, ETA %.0f s", cells, all, total, rate, eta)
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }
}
