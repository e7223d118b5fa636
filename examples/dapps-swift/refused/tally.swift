// Refused on purpose (scripts/test-guest.sh): counts the input's bytes in a Dictionary. Embedded
// Swift's Dictionary sizes its storage with Double arithmetic (the maximum load factor), so the
// module holds float instructions and the executor refuses it (DDE_ERR_CODE_NONDETERMINISTIC);
// `dde code check` names them. Use arrays (sorted, or indexed by small keys) in dApps.
@_expose(wasm, "main") @_cdecl("dde_action_main")
public func main() -> Int32 {
    var counts: [UInt8: UInt32] = [:]
    for byte in DDE.input() { counts[byte, default: 0] += 1 }
    DDE.write("{\"distinct\":")
    DDE.write(at: 2600, count: DDE.formatDecimal(UInt64(counts.count), at: 2600))
    DDE.write("}")
    return DDE.ok
}
