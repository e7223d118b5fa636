// result: a compute_result as a requester receives it, verified against the fixture's task.
//
// Two readers read the same bytes: the direct one (ComputeResult.readPlain, which also hashes
// canonical parts of the input) and the generic parser with FieldReader. Its contract
// (Protocol/ComputeResultReader.swift): it accepts nothing the generic path refuses, and what
// it accepts has the same values and hashes. The verifier's status must not depend on which
// reader read the bytes.
@testable import DDE

private func status(_ body: () throws(DDEError) -> Void) -> Status {
    do throws(DDEError) {
        try body()
        return .ok
    } catch {
        return error.status
    }
}

func fuzzResult(_ data: UnsafeRawBufferPointer) {
    let verdict = checkResult(data)
    // The same document spelled otherwise (Respell.swift) gets the same verdict: the direct
    // reader works on the spelling, the generic one on the value. Only a size limit may differ
    // (a respelling can be longer), and a document with several malformed members may be
    // refused for another of them (state maps are read in member order, and a respelling
    // reorders them), but as malformed all the same (check 1).
    guard let tree = try? JSONParser.parse(data) else { return }
    var r = MutationRandom(UInt32(truncatingIfNeeded: data.count &* 2_654_435_761) ^ (data.count > 0 ? UInt32(data[data.count / 2]) : 0))
    for _ in 0..<2 {
        let other = Respell.bytes(tree, &r)
        let again = other.withUnsafeBytes { checkResult($0) }
        expect(again == verdict || again == .limit || verdict == .limit || (malformed(again) && malformed(verdict)),
               "a respelling verifies as \(again.name), the original as \(verdict.name): \(text(other))")
    }
}

/// Check 1 (well-formed) failed: the decoding statuses (20-39).
private func malformed(_ s: Status) -> Bool { (20..<40).contains(s.rawValue) }

/// Every check on one spelling; the verifier's status.
private func checkResult(_ data: UnsafeRawBufferPointer) -> Status {
    let task = Fixture.task
    let plain = ComputeResult.readPlain(data, limits: .default)
    var generic: ComputeResult?
    var genericStatus = Status.ok
    do throws(DDEError) {
        generic = try ComputeResult(json: try JSONParser.parse(data))
    } catch {
        genericStatus = error.status
    }

    if let plain {
        guard let g = generic else {
            fatalError("readPlain accepted a compute_result the generic reader refuses (\(genericStatus.name))")
        }
        let p = plain.result
        expect(p.canonicalBytes == g.canonicalBytes, "the two readers read different results")
        expect(p.stateWrites == g.stateWrites, "the two readers read different state writes")
        expect(p.proof.signedHash == g.proof.signedHash, "the two readers read different proofs")
        expect(p.proof.signature == g.proof.signature, "the two readers read different signatures")
        expect(p.executionLatency == g.executionLatency, "the two readers read different latencies")
        if let h = plain.proofSignedHash { expect(h == g.proof.signedHash, "readPlain's H(proof without signature) is wrong") }
        if let h = plain.stateWritesHash { expect(h == g.stateWrites.hash, "readPlain's H(stateWrites) is wrong") }
        if let h = plain.resultHash { expect(h == g.result.hash, "readPlain's H(result) is wrong") }
    }

    if let g = generic {
        // The direct writers agree with the generic serialiser.
        expect(g.canonicalBytes == g.json.canonicalBytes(), "ComputeResult.canonicalBytes differs from its JSON's")
        expect(g.proof.canonicalBytes(signed: false) == g.proof.unsignedJSON.canonicalBytes(),
               "ExecutionProof.canonicalBytes differs from its JSON's")
    }

    // The verifier from bytes (the direct reader first) and from the parsed result agree.
    let viaBytes = status { () throws(DDEError) in _ = try Verifier.verify(task: task, resultBytes: data) }
    let viaParsed = generic.map { g in status { () throws(DDEError) in _ = try Verifier.verify(task: task, result: g) } }
        ?? genericStatus
    expect(viaBytes == viaParsed, "verify from bytes says \(viaBytes.name), from the parsed result \(viaParsed.name)")

    // An accepted result is committed as its canonical bytes: they must verify the same way.
    if viaBytes == .ok, let g = generic {
        let stored = g.canonicalBytes
        let again = status { () throws(DDEError) in _ = try Verifier.verify(task: task, resultBytes: stored) }
        expect(again == .ok || again == .limit, "an accepted result's canonical bytes verify as \(again.name)")
        _ = status { () throws(DDEError) in _ = try Verifier.verified(task: task, result: g) }
    }
    return viaBytes
}
