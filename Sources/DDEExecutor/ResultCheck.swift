// The result rule (PROTOCOL.md section 4): the bytes given to output_write must be one JSON
// document, by the same parser (and limits) the verifier uses on the compute_result.
import DDE

enum ResultCheck {
    static func parseOneDocument(_ bytes: [UInt8]) throws(DDEError) -> JSON {
        guard !bytes.isEmpty else {
            throw DDEError(.resultNotJSON, "the action wrote no output: call output_write with one JSON document")
        }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw DDEError(.resultNotJSON, "the action's output is not one JSON document (\(error.status.name): \(error.detail))")
        }
    }
}
