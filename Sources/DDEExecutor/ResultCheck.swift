// The result rule (PROTOCOL.md section 4): the bytes given to output_write must be one JSON
// document. Kept behind this one function so the core's parser can replace the stand-in below.
import DDE
import Foundation

enum ResultCheck {
    // TODO(core JSON parser): use JSONParser.parse once it lands on main, so the executor and the
    // verifier agree on what JSON is (limits, duplicate keys, number forms).
    static func checkOneDocument(_ bytes: [UInt8]) throws(DDEError) {
        guard !bytes.isEmpty else {
            throw DDEError(.resultNotJSON, "the action wrote no output: call output_write with one JSON document")
        }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw DDEError(.resultNotJSON, "the action's output is not one JSON document: \(String(decoding: bytes.prefix(80), as: UTF8.self))")
        }
    }
}
