// The deterministic sandbox (docs/EXECUTION.md): checks a module, runs one action on WasmKit with
// fuel metering, bounded memory, bounded host calls and a wall-clock deadline, and returns the
// result bytes, the state writes, the trace hash and the fuel used.
import DDE
import Dispatch
import Foundation
@_spi(Fuzzing) import WasmKit
import WasmParser

/// Everything one run depends on. Two runs of equal requests give equal outcomes (except the
/// elapsed time), on any executor.
public struct ExecutionRequest: Sendable {
    public var module: [UInt8]
    public var action: String
    /// The JCS bytes of intent.payload.
    public var input: [UInt8]
    /// The dApp's state before the run (a v2 task: the present entries it carries).
    public var state: [[UInt8]: [UInt8]]
    /// A v2 task's partial state: the run may touch only its keys (another key stops it with
    /// `DDE_ERR_STATE_KEY_OUTSIDE`), and the next root comes from its proof. nil: the whole state.
    public var partialState: PartialState?
    /// The task's requiredCapabilities.
    public var capabilities: [String]
    public var limits: ExecutionLimits
    /// The module already checked and parsed (from the sandbox's cache, `Executor.request`);
    /// used only while `module` still holds its bytes.
    var prepared: PreparedModule?

    public init(module: [UInt8], action: String, input: [UInt8], state: [[UInt8]: [UInt8]] = [:],
                capabilities: [String], limits: ExecutionLimits = ExecutionLimits()) {
        self.module = module
        self.action = action
        self.input = input
        self.state = state
        self.capabilities = capabilities
        self.limits = limits
    }
}

/// One key's change: the new value, or nil for a delete.
public struct StateWrite: Sendable, Equatable {
    public let key: [UInt8]
    public let value: [UInt8]?

    public init(key: [UInt8], value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

public struct ExecutionOutcome: Sendable {
    /// The bytes the guest gave to output_write, all calls concatenated; one JSON document.
    public let result: [UInt8]
    /// Those bytes parsed (the core's JSONParser): the compute_result's `result`.
    public let resultDocument: JSON
    /// Keys whose final value differs from the input state, sorted by key bytes.
    public let stateWrites: [StateWrite]
    /// The input state with the writes applied.
    public let nextState: [[UInt8]: [UInt8]]
    /// StateRoot.root of nextState.
    public let nextStateRoot: Digest
    /// Capabilities whose functions were called at least once (sorted; "io" is not one).
    public let capabilitiesUsed: [String]
    /// h_n (its lowercase hex goes into the proof).
    public let executionTraceHash: Digest
    /// n: the number of host calls.
    public let traceLength: Int
    public let fuelUsed: UInt64
    /// What the guest passed to log, one entry per call (not part of any hash but the trace).
    public let logs: [[UInt8]]
    /// Wall clock of the run, for latency reports only.
    public let elapsedNanoseconds: UInt64
}

public final class Sandbox: @unchecked Sendable {
    /// The memory bound when a task sets no maxMemoryUsage (256 MiB).
    public static let defaultMemoryCap = 256 << 20
    /// Most table elements a guest may have.
    public static let maxTableElements = 100_000

    /// Eager: instantiating validates and compiles every function. Every run of a module not
    /// kept, a kept module's runs until one has instantiated it (`ModuleCache.markValidated`),
    /// and `inspect`.
    let engine: WasmKit.Engine
    /// The same but lazy: a function is compiled when first called. Runs of a kept module once
    /// validated: a task calls a few of a module's functions (compiling all of them took an
    /// eighth of the wallet's task). WasmKit fixes a function's fuel costs when it translates it,
    /// whenever that is, and compiles into the run's own store, so the result, fuel, trace and
    /// traps do not depend on the mode.
    let lazyEngine: WasmKit.Engine
    let fuelMetering: Bool
    let cache = ModuleCache()

    /// A sandbox is cheap to keep and safe to share: every run gets its own WasmKit store.
    public convenience init() { self.init(fuelMetering: true) }

    /// Without fuel metering a run has no fuel bound and no deadline: for benchmarks only
    /// (`ExecutorBenchmark` in benchmarks/Sources/DDEBench), hence an SPI, not the public API.
    @_spi(Benchmarks) public init(fuelMetering: Bool) {
        self.fuelMetering = fuelMetering
        // Software bounds checks, not WasmKit's Linux default (mprotect): that one maps a 4 GiB
        // reservation per instance and unmaps it when the run ends, and with a new instance per
        // task the munmap's TLB shootdown across CPUs cost ~25 us a task (~70 us under load),
        // while the checks cost nothing measurable on the hashchain benchmark (BENCHMARKS.md).
        var configuration = EngineConfiguration(
            compilationMode: .eager, features: [], memoryBoundsChecking: .software, fuelMetering: fuelMetering)
        engine = WasmKit.Engine(configuration: configuration)
        configuration.compilationMode = .lazy
        lazyEngine = WasmKit.Engine(configuration: configuration)
    }

    public func run(_ request: ExecutionRequest) throws(DDEError) -> ExecutionOutcome {
        for capability in request.capabilities where !Capability.all.contains(where: { Array($0.utf8) == Array(capability.utf8) }) {
            throw DDEError(.argument, "unknown capability \"\(capability)\"; known: \(Capability.all.joined(separator: ", "))")
        }
        let module: WasmKit.Module
        // A module this sandbox keeps and has instantiated whole once runs lazily; the first run
        // of a kept module is eager, under the task's own limits, and validates it for the rest.
        var kept: Digest? = nil
        var lazy = false
        if let prepared = request.prepared, prepared.bytes == request.module {
            // Checked and parsed when first loaded; only what depends on the task is left.
            try ModuleCheck.checkTask(prepared.info, declared: request.capabilities, action: request.action)
            module = prepared.module
            kept = prepared.hash
            lazy = cache.isValidated(prepared.hash)
        } else {
            _ = try ModuleCheck.check(request.module, declared: request.capabilities, action: request.action)
            module = try Sandbox.parse(request.module)
        }

        let memoryCap = request.limits.maxMemoryUsage.map { Int(clamping: $0) } ?? Sandbox.defaultMemoryCap
        let store = WasmKit.Store(engine: lazy ? lazyEngine : engine)
        let limiter = MemoryLimiter(maxBytes: memoryCap)
        store.resourceLimiter = limiter
        if fuelMetering { store.fuel = Fuel(remaining: request.limits.maxFuel) }

        let start = DispatchTime.now().uptimeNanoseconds
        // A deadline too far to represent is no deadline.
        let deadline = request.limits.maxExecutionTime.flatMap { ms -> UInt64? in
            let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
            let (at, late) = start.addingReportingOverflow(ns)
            return overflow || late ? nil : at
        }
        let host = HostCalls(request: request, deadline: deadline)
        var imports = Imports()
        for function in HostFunction.all {
            imports.define(module: HostFunction.moduleName, name: function.name,
                           host.function(function, store: store))
        }

        let watchdog = deadline.map { Watchdog(store: store, deadline: $0) }
        watchdog?.start()
        let returned: [Value]
        do {
            let instance = try module.instantiate(store: store, imports: imports)
            // Eagerly instantiated: WasmKit validated and compiled every function.
            if let kept, !lazy { cache.markValidated(kept) }
            var action: Function?
            for (name, value) in instance.exports where Array(name.utf8) == Array(request.action.utf8) {
                if case .function(let f) = value { action = f }
            }
            guard let action else {
                throw DDEError(.noSuchAction, "the module exports no function named \"\(request.action)\"")
            }
            host.memory = instance.exports[memory: "memory"]
            returned = try action.invoke([])
            if watchdog?.stop() == true {
                throw DDEError(.timeout, "the action ran longer than maxExecutionTime \(request.limits.maxExecutionTime ?? 0) ms")
            }
        } catch {
            let fired = watchdog?.stop() ?? false
            throw classify(error, host: host, limiter: limiter, timedOut: fired, limits: request.limits)
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds &- start
        if let deadline, start &+ elapsed > deadline {
            throw DDEError(.timeout, "the action took \(elapsed / 1_000_000) ms, more than maxExecutionTime \(request.limits.maxExecutionTime ?? 0) ms")
        }

        guard returned.count == 1, case .i32(let status) = returned[0] else {
            throw DDEError(.noSuchAction, "the action did not return one i32")
        }
        guard status == 0 else {
            throw DDEError(.actionFailed, "the action \"\(request.action)\" returned \(Int32(bitPattern: status)) (non-zero: failed)")
        }
        let document = try ResultCheck.parseOneDocument(host.output)

        let fuelUsed = fuelMetering ? request.limits.maxFuel - (store.fuel?.remaining ?? request.limits.maxFuel) : 0
        let (writes, nextState) = host.finalWrites()
        let nextRoot: Digest
        if let partial = request.partialState {
            // v2: the whole state's root after the writes, from the task's proof alone.
            var map = [[UInt8]: [UInt8]?]()
            for w in writes { map[w.key] = .some(w.value) }
            nextRoot = try partial.root(applying: StateWrites(map))
        } else {
            nextRoot = StateRoot.root(sortedEntries: nextState.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }).map { ($0, nextState[$0] ?? []) })
        }
        return ExecutionOutcome(
            result: host.output,
            resultDocument: document,
            stateWrites: writes,
            nextState: nextState,
            nextStateRoot: nextRoot,
            capabilitiesUsed: host.capabilitiesUsed.sorted(by: bytesOrder),
            executionTraceHash: host.trace.head,
            traceLength: host.trace.length,
            fuelUsed: fuelUsed,
            logs: host.logs,
            elapsedNanoseconds: elapsed)
    }

    static func parse(_ bytes: [UInt8]) throws(DDEError) -> WasmKit.Module {
        do {
            return try parseWasm(bytes: bytes, features: [])
        } catch {
            throw DDEError(.codeInvalid, "WasmKit does not accept the module: \(error)")
        }
    }

    /// The module named `hash`: from this sandbox's cache, or read from `codeStore` (re-hashed
    /// there) and, when it passes every check that does not depend on a task and WasmKit parses
    /// it, kept for the next task. A module refused so is not kept: every run of it then takes
    /// the full check and is refused the same way. Module bytes are immutable under their hash,
    /// so a kept module needs neither the file nor the hash again; every run still gets its own
    /// WasmKit store and instance (compiled lazily once a run has instantiated it whole).
    func module(_ hash: Digest, codeStore: CodeStore) throws(DDEError) -> (bytes: [UInt8], prepared: PreparedModule?) {
        if let hit = cache.get(hash) { return (hit.bytes, hit) }
        let bytes = try codeStore.module(for: hash)
        guard let info = try? ModuleCheck.check(bytes, declared: Capability.all, action: nil),
              let module = try? Sandbox.parse(bytes) else {
            return (bytes, nil)
        }
        let prepared = PreparedModule(hash: hash, bytes: bytes, info: info, module: module)
        cache.put(prepared)
        return (bytes, prepared)
    }

    /// Modules kept checked and parsed (for tests and reports).
    public var cachedModules: Int { cache.count }

    /// Of those, the ones a run has instantiated whole (validated): their runs compile lazily.
    public var validatedModules: Int { cache.validatedCount }

    /// Names the failure of a run: what the host or the limiter recorded wins over what WasmKit
    /// made of it, so the status never depends on how WasmKit wraps errors.
    private func classify(_ error: Error, host: HostCalls, limiter: MemoryLimiter, timedOut: Bool,
                          limits: ExecutionLimits) -> DDEError {
        if let abort = host.abort { return abort }
        if let desired = limiter.refused {
            return DDEError(.memoryLimit, "the module asked for \(desired) bytes of memory, more than maxMemoryUsage \(limiter.maxBytes)")
        }
        if timedOut {
            return DDEError(.timeout, "the action ran longer than maxExecutionTime \(limits.maxExecutionTime ?? 0) ms and was stopped")
        }
        if let error = error as? DDEError { return error }
        let text = Sandbox.reason(error)
        // WasmKit's trap reasons are not public; its out-of-fuel trap says so in its text.
        if error is Trap, text.contains("out of fuel") {
            return DDEError(.outOfFuel, "the action used up maxFuel \(limits.maxFuel) before returning")
        }
        if error is Trap {
            return DDEError(.guestTrap, "the module trapped: \(text)")
        }
        return DDEError(.codeInvalid, "WasmKit refused the module: \(text)")
    }

    /// WasmKit's reason, its first line and at most 300 bytes: a trap's description goes on with
    /// a backtrace of code addresses (8,190 frames after the call stack is exhausted: 700 KB),
    /// which differ from run to run and would not fit a compute_error's message (4,096 bytes).
    static func reason(_ error: Error) -> String {
        let text = "\(error)"
        return clipped(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "", toBytes: 300)
    }
}

/// `text` when it is at most `limit` UTF-8 bytes, else its longest prefix of whole characters
/// that leaves room for "…", then "…" (3 bytes).
package func clipped<S: StringProtocol>(_ text: S, toBytes limit: Int) -> String {
    let limit = max(limit, 3)  // room for the ellipsis at least
    guard text.utf8.count > limit else { return String(text) }
    var bytes = 0
    var end = text.startIndex
    for i in text.indices {
        let n = text[i].utf8.count
        if bytes + n > limit - 3 { break }
        bytes += n
        end = text.index(after: i)
    }
    return text[..<end] + "…"
}

/// A module that passed the task-independent checks, parsed by WasmKit (immutable: WasmKit
/// instantiates it into a new store per run).
struct PreparedModule: Sendable {
    let hash: Digest
    let bytes: [UInt8]
    let info: ModuleInfo
    let module: WasmKit.Module
}

/// The sandbox's modules by hash, bounded in count and bytes; the oldest go first.
final class ModuleCache: @unchecked Sendable {
    static let maxEntries = 64
    static let maxBytes = 64 << 20
    private let lock = NSLock()
    private var entries: [Digest: PreparedModule] = [:]
    private var order: [Digest] = []
    private var bytes = 0
    /// Kept modules a run has instantiated eagerly: WasmKit validated every function.
    private var validated: Set<Digest> = []

    var count: Int { lock.withLock { entries.count } }
    var validatedCount: Int { lock.withLock { validated.count } }

    func get(_ hash: Digest) -> PreparedModule? { lock.withLock { entries[hash] } }

    func isValidated(_ hash: Digest) -> Bool { lock.withLock { validated.contains(hash) } }

    /// Only for a module still kept (a dropped one is validated again when it comes back).
    func markValidated(_ hash: Digest) { lock.withLock { if entries[hash] != nil { validated.insert(hash) } } }

    func put(_ module: PreparedModule) {
        lock.withLock {
            guard entries[module.hash] == nil, module.bytes.count <= ModuleCache.maxBytes else { return }
            while !order.isEmpty && (entries.count >= ModuleCache.maxEntries || bytes + module.bytes.count > ModuleCache.maxBytes) {
                let dropped = order.removeFirst()
                validated.remove(dropped)
                if let old = entries.removeValue(forKey: dropped) { bytes -= old.bytes.count }
            }
            entries[module.hash] = module
            order.append(module.hash)
            bytes += module.bytes.count
        }
    }
}

/// Aborts a run from inside a host function; the DDEError is also recorded in HostCalls.abort.
struct HostAbort: Error {
    let error: DDEError
}

/// The memory bound. Refusing growth makes memory.grow fail with -1 in plain WebAssembly; dde
/// stops the run instead (`.memoryLimit`), so a guest cannot quietly depend on the executor's cap.
final class MemoryLimiter: ResourceLimiter, @unchecked Sendable {
    struct Refused: Error {}
    let maxBytes: Int
    private(set) var refused: Int?

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        if desired > maxBytes {
            refused = desired
            throw Refused()
        }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        desired <= Sandbox.maxTableElements
    }
}

/// Stops a run at its deadline. WasmKit cannot be interrupted from outside, but its interpreter
/// charges fuel through the store at every region (each block and loop iteration), so draining the
/// store's fuel makes the run trap at its next charge. The drain repeats every millisecond until
/// the run is over, in case an in-flight charge wrote back the old budget. A run stopped so is a
/// timeout (no proof), so the fuel figures it leaves behind are never reported.
final class Watchdog: @unchecked Sendable {
    private let store: WasmKit.Store
    private let deadline: UInt64
    private let lock = NSLock()
    private var finished = false
    private var fired = false
    private let done = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    init(store: WasmKit.Store, deadline: UInt64) {
        self.store = store
        self.deadline = deadline
    }

    func start() {
        Thread.detachNewThread { [self] in
            if done.wait(timeout: DispatchTime(uptimeNanoseconds: deadline)) == .timedOut {
                while true {
                    lock.lock()
                    if finished { lock.unlock(); break }
                    fired = true
                    store.fuel = Fuel(remaining: 0)
                    lock.unlock()
                    if done.wait(timeout: .now() + .milliseconds(1)) == .success { break }
                }
            }
            exited.signal()
        }
    }

    /// Ends the watch (waiting for the thread to let go of the store); returns whether it fired.
    @discardableResult
    func stop() -> Bool {
        lock.lock()
        let alreadyFinished = finished
        finished = true
        let result = fired
        lock.unlock()
        if !alreadyFinished {
            done.signal()
            exited.wait()
        }
        return result
    }
}
