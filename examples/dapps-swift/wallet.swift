// wallet: examples/dapps/wallet.wat written again in Embedded Swift with guest/swift (DDEGuest).
//
// Same actions, payloads, state, results and failures as the WAT (its header is the reference):
//   send {"amount":A,"from":"F","to":"T"}   mint {"amount":A,"to":"T"}
//   state "balance/<name>" = decimal ASCII; result {"from":..,"ok":true,"to":..} or
//   {"error":"insufficient funds","ok":false}; a malformed payload returns 1.
//
// A twin: for every task it makes the same host calls with the same arguments as the WAT (the
// trace hashes pointers too, so the buffers sit at the WAT's addresses), hence the same results,
// state writes and trace hash. Only fuel differs.
// Memory below 4096: [0, 1024) input; 1024.. literals; 2048 key of F; 2304 key of T;
// 2560 value buffer (32 bytes); 2600 formatted number.

enum At {
    static let input: UInt32 = 0, inputCapacity: UInt32 = 1024
    static let amount: UInt32 = 1024, from: UInt32 = 1040, to: UInt32 = 1056, end: UInt32 = 1072
    static let balance: UInt32 = 1088, resultFrom: UInt32 = 1104, resultOK: UInt32 = 1120
    static let resultClose: UInt32 = 1140, noFunds: UInt32 = 1152
    static let keyFrom: UInt32 = 2048, keyTo: UInt32 = 2304, value: UInt32 = 2560, number: UInt32 = 2600
}
let maxBalance: UInt64 = 1_000_000_000_000_000_000

/// The WAT's data segments.
func layout() {
    DDE.put("{\"amount\":", at: At.amount)
    DDE.put(",\"from\":\"", at: At.from)
    DDE.put("\",\"to\":\"", at: At.to)
    DDE.put("\"}", at: At.end)
    DDE.put("balance/", at: At.balance)
    DDE.put("{\"from\":", at: At.resultFrom)
    DDE.put(",\"ok\":true,\"to\":", at: At.resultOK)
    DDE.put("}", at: At.resultClose)
    DDE.put("{\"error\":\"insufficient funds\",\"ok\":false}", at: At.noFunds)
}

/// A cursor over the input [pos, end).
struct Cursor {
    var pos: UInt32 = At.input
    var end: UInt32

    /// Consumes the literal of n bytes at lit.
    mutating func expect(_ lit: UInt32, _ n: UInt32) -> Bool {
        guard pos &+ n <= end, DDE.equal(pos, lit, count: n) else { return false }
        pos &+= n
        return true
    }

    /// Consumes a name of 1 to 64 bytes up to the next '"' (no '\'): its address and length.
    mutating func name() -> (at: UInt32, count: UInt32)? {
        let start = pos
        while true {
            guard pos < end else { return nil }
            let c = DDE.load(pos)
            if c == 34 { break }
            if c == 92 { return nil }
            pos &+= 1
        }
        let n = pos - start
        return n >= 1 && n <= 64 ? (start, n) : nil
    }

    /// Consumes a run of digits: its value (1 to 18 digits).
    mutating func number() -> UInt64? {
        let start = pos
        while pos < end, DDE.load(pos) >= 48, DDE.load(pos) <= 57 { pos &+= 1 }
        return DDE.parseDecimal(at: start, count: pos - start)
    }
}

/// Reads the input to address 0; nil when it is over 1024 bytes.
func readInput() -> Cursor? {
    layout()
    guard let size = DDE.readInput(at: At.input, capacity: At.inputCapacity) else { return nil }
    return Cursor(end: At.input + size)
}

/// "balance/" + the name at out; returns the key length.
func key(_ name: (at: UInt32, count: UInt32), at out: UInt32) -> UInt32 {
    DDE.copy(from: At.balance, to: out, count: 8)
    DDE.copy(from: name.at, to: out + 8, count: name.count)
    return name.count + 8
}

/// The balance under a key: 0 when absent, nil when malformed.
func balance(_ key: UInt32, _ n: UInt32) -> UInt64? {
    let length = DDE.get(keyAt: key, count: n, into: At.value, capacity: 32)
    if length == -1 { return 0 }
    guard length <= 18 else { return nil }
    return DDE.parseDecimal(at: At.value, count: UInt32(length))
}

func setBalance(_ key: UInt32, _ n: UInt32, _ v: UInt64) {
    DDE.set(keyAt: key, count: n, valueAt: At.number, valueCount: DDE.formatDecimal(v, at: At.number))
}

func writeNumber(_ v: UInt64) {
    DDE.write(at: At.number, count: DDE.formatDecimal(v, at: At.number))
}

@_expose(wasm, "send") @_cdecl("dde_action_send")
public func send() -> Int32 {
    guard var input = readInput(), input.expect(At.amount, 10), let amount = input.number(),
          input.expect(At.from, 9), let from = input.name(),
          input.expect(At.to, 8), let to = input.name(),
          input.expect(At.end, 2), input.pos == input.end else { return DDE.fail }
    let fromKey = key(from, at: At.keyFrom)
    let toKey = key(to, at: At.keyTo)
    guard let fromBalance = balance(At.keyFrom, fromKey) else { return DDE.fail }
    if fromBalance < amount {
        // A normal, signed answer with no writes.
        DDE.write(at: At.noFunds, count: 41)
        return DDE.ok
    }
    setBalance(At.keyFrom, fromKey, fromBalance - amount)
    // Read T after writing F, so a send to oneself nets out to no change.
    guard let toBalance = balance(At.keyTo, toKey) else { return DDE.fail }
    let toNew = toBalance + amount
    guard toNew < maxBalance else { return DDE.fail }
    setBalance(At.keyTo, toKey, toNew)

    DDE.write(at: At.resultFrom, count: 8)
    writeNumber(balance(At.keyFrom, fromKey) ?? 0)
    DDE.write(at: At.resultOK, count: 16)
    writeNumber(toNew)
    DDE.write(at: At.resultClose, count: 1)
    return DDE.ok
}

@_expose(wasm, "mint") @_cdecl("dde_action_mint")
public func mint() -> Int32 {
    // ,"to":" is the literal at At.to without its leading quote.
    guard var input = readInput(), input.expect(At.amount, 10), let amount = input.number(),
          input.expect(At.to + 1, 7), let to = input.name(),
          input.expect(At.end, 2), input.pos == input.end else { return DDE.fail }
    let toKey = key(to, at: At.keyTo)
    guard let toBalance = balance(At.keyTo, toKey) else { return DDE.fail }
    let toNew = toBalance + amount
    guard toNew < maxBalance else { return DDE.fail }
    setBalance(At.keyTo, toKey, toNew)
    // {"ok":true,"to":N}: "{" from At.resultFrom, then At.resultOK without its comma.
    DDE.write(at: At.resultFrom, count: 1)
    DDE.write(at: At.resultOK + 1, count: 15)
    writeNumber(toNew)
    DDE.write(at: At.resultClose, count: 1)
    return DDE.ok
}
