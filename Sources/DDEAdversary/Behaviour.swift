// The misbehaving executors of the tests and the demo, as answer hooks for ExecutorNode (one
// general hook: `ExecutorNode.Config.answer`), and the `--test-behaviour` names `dde node` takes
// so that tests can run them as separate processes.
import DDE
import DDENetwork
import Foundation

public enum Behaviour: Sendable, Equatable {
    case honest
    /// Alters the result after signing: the proof fails check 7 (resultHash).
    case forge
    /// Runs nothing and signs a consistent but wrong result at once: it verifies; only quorum or
    /// audit catch it.
    case lie
    /// Answers honestly after waiting this many milliseconds.
    case slow(ms: Int)
    /// Runs nothing and answers nothing.
    case silent
    /// Runs nothing and refuses every task at once with a signed DDE_ERR_STATE_KEY_OUTSIDE naming
    /// this key: a false refusal that would, if the client believed the fastest one, end a
    /// delegation honest executors were about to answer or choose the key a retry carries.
    case refuseKey(String)

    /// honest, forge, lie, silent, slow:MS (0 to 600000) or refuse-key:KEY.
    public init(parsing text: String) throws(DDEError) {
        switch text {
        case "honest": self = .honest
        case "forge": self = .forge
        case "lie": self = .lie
        case "silent": self = .silent
        default:
            if text.hasPrefix("refuse-key:") {
                self = .refuseKey(String(text.dropFirst(11)))
                return
            }
            guard text.hasPrefix("slow:"), let ms = Int(text.dropFirst(5)), ms >= 0, ms <= 600_000 else {
                throw DDEError(.argument, "the behaviour must be honest, forge, lie, silent, slow:MS or refuse-key:KEY, not \(text)")
            }
            self = .slow(ms: ms)
        }
    }

    /// The node's answer hook (nil for honest: the node answers the honest result).
    public var hook: NodeAnswerHook? {
        switch self {
        case .honest:
            return nil
        case .forge:
            return { _, _, execute throws(DDEError) in
                .result(Misbehaviour.forge(try execute()), note: " (FORGED after signing)")
            }
        case .lie:
            // A rational liar runs nothing: it signs a consistent lie at once (and so answers first).
            return { task, keyPair, _ in
                .result(Misbehaviour.fabricate(task: task, keyPair: keyPair), note: " (LIE: consistent, signed, nothing run)")
            }
        case .slow(let ms):
            return { _, _, execute throws(DDEError) in
                let result = try execute()
                Thread.sleep(forTimeInterval: Double(ms) / 1000)
                return .result(result, note: " (slowed \(ms) ms)")
            }
        case .silent:
            return { _, _, _ in .nothing(note: "silent (test mode)") }
        case .refuseKey(let key):
            // Thrown from the hook, the error goes out as the task's signed compute_error.
            return { _, _, _ throws(DDEError) in throw DDEError(.stateKeyOutside, "\(key)") }
        }
    }
}
