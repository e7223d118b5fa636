// sdk_tour: the Swift twin of examples/dapps-c/sdk_tour.c, with DDEGuest's array-based helpers
// (see the C file for the action, the state and the result). Same result, state writes and
// number of host calls as the C tour; not the same trace hash (its buffers are elsewhere: the
// trace hashes pointers, docs/DAPPS.md section 6).
@_expose(wasm, "tour") @_cdecl("dde_action_tour")
public func tour() -> Int32 {
    let input = DDE.input()
    guard let big = DDE.get(DDE.bytes("big")) else { return DDE.fail }
    let digest = DDE.sha256(big)
    guard let pk = DDE.get(DDE.bytes("pk")), var sig = DDE.get(DDE.bytes("sig")) else { return DDE.fail }
    let valid = DDE.verify(signature: sig, message: [], publicKey: pk)
    sig[10] ^= 1
    let tampered = DDE.verify(signature: sig, message: [], publicKey: pk)
    let had = DDE.delete(DDE.bytes("old"))
    DDE.set(DDE.bytes("seen"), input)
    DDE.log("tour: done")

    let hex = DDE.bytes("0123456789abcdef")
    var out = DDE.bytes("{\"big\":") + DDE.decimal(UInt64(big.count))
    out += DDE.bytes(",\"had\":") + (had ? DDE.bytes("true") : DDE.bytes("false"))
    out += DDE.bytes(",\"input\":") + DDE.decimal(UInt64(input.count))
    out += DDE.bytes(",\"sha\":\"")
    for byte in digest { out += [hex[Int(byte >> 4)], hex[Int(byte & 15)]] }
    out += DDE.bytes("\",\"tampered\":") + (tampered ? DDE.bytes("true") : DDE.bytes("false"))
    out += DDE.bytes(",\"valid\":") + (valid ? DDE.bytes("true") : DDE.bytes("false")) + DDE.bytes("}")
    DDE.write(out)
    return DDE.ok
}
