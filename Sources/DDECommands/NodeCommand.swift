// `dde node`: an executor node over MQTT (the DDENetwork ExecutorNode loop on MQTTTransport: it
// runs tasks and serves the code it holds to peers), and `dde code publish`: put a module on the
// network by hash (retained).
import ArgumentParser
import DDE
import DDEAdversary
import DDEExecutor
import DDENetwork
import Foundation

struct Node: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an executor node: take compute tasks from an MQTT broker, run them, publish signed results.",
        discussion: """
            Subscribes to dde/v1/tasks, announces itself (retained) on dde/v1/executors/<key>, and \
            answers every offer addressed to it on the requester's results topic: a compute_result, \
            or a compute_error (e.g. DDE_ERR_BUSY past --max-tasks-per-peer tasks of one requester \
            in flight). Code it lacks is fetched by hash from dde/v1/code/<hash> (retained) and \
            checked against the hash; code it holds is published there when a peer asks on \
            dde/v1/code-requests. One log line per task on stderr. SIGINT/SIGTERM: stops taking \
            tasks, finishes the running ones, clears its presence and disconnects.
              dde node --broker mqtt://127.0.0.1:1883 --key node.key --code ./code \\
                  --preload examples/dapps/counter.wat
            Over TLS with a device certificate (examples/broker/README.md):
              dde node --broker mqtts://broker.lan --ca-file ca.crt --tls-cert node.crt \\
                  --tls-key node.tls.key --key node.key
            """)

    @OptionGroup var broker: BrokerOption
    @OptionGroup var key: ExecutorKeyOption
    @OptionGroup var code: CodeDirectory

    @Option(help: "Tasks of one requester in flight at once; more get a compute_error DDE_ERR_BUSY.")
    var maxTasksPerPeer: UInt64 = 4

    @Option(help: "Tasks run at once (threads: this many + 1, taking turns receiving).")
    var workers: Int = 2

    @Option(help: "A module (.wat or .wasm) to add to the code store at start (repeat).")
    var preload: [String] = []

    @Option(help: "Milliseconds a task waits for missing code before DDE_ERR_CODE_NOT_FOUND.")
    var codeFetchTimeout: Int = 5000

    @Option(help: "Largest MQTT message accepted in bytes (larger ones are dropped and logged). Default: a code message of the largest module.")
    var maxMessageBytes: Int?

    @Option(help: "Capability granted (repeat; default all): state.read, state.write, crypto.hash, crypto.verify, log.")
    var cap: [String] = []

    @Option(help: "Name in log lines (default node-<first 8 hex of the key>).")
    var name: String?

    @Option(help: "Milliseconds between presence announcements (1000...300000). Requesters drop presence older than 10 minutes. On a broker that gives new subscribers no retained presence (RabbitMQ: none to a wildcard subscription, and a cluster keeps them per node) a requester learns of this node only when it announces: keep this below the requesters' --discover.")
    var presenceInterval: UInt64 = 60_000

    @OptionGroup var clientId: ClientIdOption

    /// Tests only (DDEAdversary): honest, forge, lie, silent, slow:MS or refuse-key:KEY.
    @Option(help: .hidden) var testBehaviour: String?

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            guard (1000...300_000).contains(presenceInterval) else {
                throw DDEError(.argument, "--presence-interval must be 1000...300000 ms (requesters drop presence older than 600000 ms), not \(presenceInterval)")
            }
            let pair = try key.load()
            let store = try code.open()
            for path in preload {
                let bytes = try readInput(path, what: "module", limit: .module)
                let module = path.hasSuffix(".wat") ? try compileWAT(bytes, path: path) : bytes
                _ = try store.add(module)
            }
            let label = name ?? "node-\(String(pair.publicKey.hex.prefix(8)))"
            var config = ExecutorNode<MQTTTransport>.Config()
            config.maxComputeTasksPerPeer = maxTasksPerPeer
            config.workers = max(1, workers)
            config.codeFetchTimeoutMs = codeFetchTimeout
            config.name = label
            config.presenceIntervalMs = presenceInterval
            if let testBehaviour {
                do throws(DDEError) {
                    config.answer = try Behaviour(parsing: testBehaviour).hook
                } catch {
                    throw DDEError(.argument, "--test-behaviour: \(error.detail)")
                }
            }
            if !cap.isEmpty { config.capabilities = try Capability.normalise(cap) }

            var options = try broker.options()
            options.maxMessageBytes = maxMessageBytes ?? CodeMessage.limits.maxBytes
            let mqtt = try MQTTTransport(url: broker.url, clientId: clientId.id(role: "node", key: pair.publicKey),
                                         options: options)
            mqtt.onNotice = { logLine("\(label): \($0)") }
            let node = ExecutorNode(transport: mqtt, keyPair: pair, codeStore: store, config: config,
                                    log: { logLine($0) })
            let stop = NodeStopSignal()
            stop.install()
            try node.start()
            logLine("\(label): ready, executor \(pair.publicKey.hex), broker \(mqtt.host):\(mqtt.port), max \(maxTasksPerPeer) tasks per requester")
            node.run(pollMs: 100, until: { stop.isSet })
            logLine("\(label): stopping (\(stop.signalName)): finishing running tasks")
            node.stop()
            do throws(DDEError) {
                try mqtt.flush(timeoutMs: 5000)
            } catch {
                logLine("\(label): \(error.message)")
            }
            mqtt.close()
            logLine("\(label): stopped; \(node.answered) answered, \(node.refused) refused")
        }
    }
}

/// `dde code publish` (a subcommand of the code command in ExecutorCommands.swift).
struct CodePublish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a module (retained) on dde/v1/code/<sha256>, where executors fetch code by hash.",
        discussion: "Prints the code hash. Waits until the broker has acknowledged the message.")

    @OptionGroup var broker: BrokerOption

    @Argument(help: "The module: .wasm, or .wat (compiled first).")
    var file: String

    func run() throws {
        try DDECommands.run { () throws(DDEError) in
            let bytes = try readInput(file, what: "module", limit: .module)
            let module = file.hasSuffix(".wat") ? try compileWAT(bytes, path: file) : bytes
            guard module.count <= CodeMessage.maxModuleBytes else {
                throw DDEError(.limit, "\(file): \(module.count) bytes, over the \(CodeMessage.maxModuleBytes)-byte module limit")
            }
            let message = CodeMessage(module: module)
            let mqtt = try MQTTTransport(url: broker.url, clientId: "dde-pub-\(String(message.codeHash.hex.prefix(8)))-\(getpid())",
                                         options: try broker.options(MQTTOptions(cleanSession: true)))
            try mqtt.publish(topic: Topic.code(message.codeHash), payload: message.envelope.canonicalBytes, retain: true)
            try mqtt.flush(timeoutMs: 10_000)
            mqtt.close()
            writeLine(message.codeHash.hex)
        }
    }
}

/// Set by SIGINT or SIGTERM (through Dispatch signal sources, so the handler is ordinary code).
final class NodeStopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32 = 0
    private var sources: [DispatchSourceSignal] = []

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return received != 0 }
    var signalName: String {
        lock.lock(); defer { lock.unlock() }
        return received == SIGINT ? "SIGINT" : received == SIGTERM ? "SIGTERM" : "signal \(received)"
    }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.lock()
                if received == 0 { received = sig }
                lock.unlock()
            }
            source.resume()
            sources.append(source)
        }
    }
}
