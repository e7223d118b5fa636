// evidence: EvidenceDocument(bytes:) as `dde evidence check/import` reads a file.
// receipt: Receipt(bytes:) as the store and `dde chain` read one.
// keyfile: the key file parser.
// storeoptions: the options JSON of Store open (dde_store_open: ReputationConfig), then the
//   reputation rules run under the accepted settings.
@testable import DDE

func fuzzEvidence(_ data: UnsafeRawBufferPointer) {
    let doc: EvidenceDocument
    do throws(DDEError) {
        doc = try EvidenceDocument(bytes: Array(data))
    } catch {
        return
    }
    expect(doc.proofs.count == 2, "a document with \(doc.proofs.count) proofs")
    _ = doc.selfEvidentVerdict
    for p in doc.proofs {
        let v = doc.verdict(reexecuted: EvidenceDocument.Outcome(p))
        expect(!v.liars.isEmpty, "a disagreement with no liar after re-execution")
    }
    let bytes = doc.canonicalBytes
    do throws(DDEError) {
        let back = try EvidenceDocument(bytes: bytes)
        expect(back.id == doc.id, "evidence id changed in a round trip")
    } catch {
        expect(error.status == .limit, "a document's own canonical bytes are refused: \(error.message)")
    }
}

func fuzzReceipt(_ data: UnsafeRawBufferPointer) {
    let r: Receipt
    do throws(DDEError) {
        r = try Receipt(bytes: Array(data))
    } catch {
        return
    }
    // The direct writer (what is hashed and stored) agrees with the generic serialiser.
    let bytes = r.canonicalBytes
    expect(bytes == r.json.canonicalBytes(), "Receipt.canonicalBytes differs from its JSON's")
    expect(r.canonicalBytes(signed: false) == r.unsignedJSON.canonicalBytes(), "unsigned receipt bytes differ from its JSON's")
    _ = r.computedHash
    _ = r.hasValidSignature
    do throws(DDEError) {
        let back = try Receipt(bytes: bytes)
        expect(back.canonicalBytes == bytes, "receipt changed in a round trip")
    } catch {
        expect(error.status == .limit, "a receipt's own canonical bytes are refused: \(error.message)")
    }
}

func fuzzKeyFile(_ data: UnsafeRawBufferPointer) {
    let pair: KeyPair
    do throws(DDEError) {
        pair = try KeyFile.decode(Array(data), path: "fuzz.key")
    } catch {
        expect(error.status == .key, "a bad key file gives \(error.status.name), not DDE_ERR_KEY")
        return
    }
    // What decode accepts, encode writes back the same way.
    do throws(DDEError) {
        let again = try KeyFile.decode(KeyFile.encode(pair), path: "fuzz.key")
        expect(again.publicKey == pair.publicKey, "key file round trip changed the key")
    } catch {
        fatalError("a key file written by encode is refused: \(error.message)")
    }
}

/// The input: the options JSON, then optionally a NUL and events of 9 bytes (kind, then the
/// time in ms as 8 bytes little-endian, made non-negative as the C API's clock is); without
/// events, a fixed script with times from 0 to Int64.max and back.
func fuzzStoreOptions(_ data: UnsafeRawBufferPointer) {
    let end = data.firstIndex(of: 0) ?? data.count
    let config: ReputationConfig
    do throws(DDEError) {
        config = try ReputationConfig(json: try JSONParser.parse(UnsafeRawBufferPointer(rebasing: data[0..<end])))
    } catch {
        return
    }
    FuzzStore.reset()
    let rep = Reputation(table: FuzzStore.store.reputation.table, config: config)
    var events: [(UInt8, Int64)] = []
    var i = end + 1
    while i + 9 <= data.count && events.count < 64 {
        let t = UnsafeRawBufferPointer(rebasing: data[(i + 1)..<(i + 9)]).loadUnaligned(as: UInt64.self)
        events.append((data[i], Int64(bitPattern: t & UInt64(Int64.max))))
        i += 9
    }
    if events.isEmpty {
        let times: [Int64] = [0, 1, 1_764_000_000_000, 1_764_000_000_000 + config.banDurationMs, Int64.max / 2,
                              Int64.max - 1, Int64.max, 5]
        for (n, t) in times.enumerated() { for k in 0..<2 { events.append((UInt8(2 * n + k) | (k == 1 ? 0x80 : 0), t)) } }
    }
    let a = Fixture.executor.publicKey, b = Fixture.other.publicKey
    do throws(DDEError) {
        for (kind, now) in events {
            let key = kind & 0x80 == 0 ? a : b
            switch (kind & 0x7F) % 6 {
            case 0: try rep.recordFailure(key, now: now)
            case 1: try rep.recordSuccess(key, latencyMs: now / 1_000_000, now: now)
            case 2: try rep.recordTimeout(key, now: now)
            case 3: try rep.recordValidated(key, now: now)
            case 4: try rep.convict(key, now: now)
            default: try rep.demote(key, now: now)
            }
            _ = try rep.isBanned(key, now: now)
            _ = try rep.isBlacklisted(key, now: now)
            _ = try rep.routingOrder([a, b], now: now)
            _ = try rep.policy(now: now)
            for record in try rep.all(now: now) {
                _ = record.json(config: config, now: now).canonicalBytes()
                _ = record.successLowerBound(z: config.confidenceZ)
            }
        }
    } catch {
        fatalError("reputation rules failed under accepted options: \(error.message)")
    }
}
