import CDDE
import DDE
import DDEAdversary
import DDEExecutor
import DDENetwork
import Foundation
import XCTest

/// The C client (dde_client_*) end to end: its transport callbacks (a dde_transport_methods table)
/// bridge to the in-process hub, real executor nodes answer, and the store file gets the receipt.
final class ClientAPITests: XCTestCase {
    /// What the C callbacks' context points to: an endpoint and the last message (kept alive until
    /// the next receive, as the contract says).
    final class Bridge {
        let endpoint: InProcessTransport
        var topic: [CChar] = [0]
        var payload: [UInt8] = []
        init(_ endpoint: InProcessTransport) { self.endpoint = endpoint }
    }

    func testDelegateThroughTheCAPI() throws {
        let dir = temporaryDirectory(self)
        let hub = InProcessHub()
        var nodes: [ExecutorNode<InProcessTransport>] = []
        let stop = DelegationEndToEndTests.Flag()
        for (name, behaviour) in [("a", Behaviour.honest), ("forger", .forge)] {
            var config = ExecutorNode<InProcessTransport>.Config()
            config.name = name
            config.answer = behaviour.hook
            let node = ExecutorNode(transport: hub.endpoint(name: name), keyPair: KeyPair.generate(),
                                    codeStore: try CodeStore(directory: dir.appendingPathComponent(name)), config: config,
                                    log: { _ in })
            try node.start()
            nodes.append(node)
            Thread { node.run(until: { stop.isSet }) }.start()
        }
        addTeardownBlock { stop.set(); for n in nodes { n.transport.close() } }

        let bridge = Bridge(hub.endpoint(name: "c-client"))
        let context = Unmanaged.passUnretained(bridge).toOpaque()
        let publish: PublishFn = { ctx, topic, payload, length, retain in
            let b = Unmanaged<Bridge>.fromOpaque(ctx!).takeUnretainedValue()
            let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: payload, count: length))
            do { try b.endpoint.publish(topic: String(cString: topic!), payload: bytes, retain: retain != 0) } catch { return 100 }
            return 0
        }
        let subscribe: SubscribeFn = { ctx, filter in
            let b = Unmanaged<Bridge>.fromOpaque(ctx!).takeUnretainedValue()
            do { try b.endpoint.subscribe(String(cString: filter!)) } catch { return 100 }
            return 0
        }
        let receive: ReceiveFn = { ctx, timeout, topic, payload, length, received in
            let b = Unmanaged<Bridge>.fromOpaque(ctx!).takeUnretainedValue()
            received!.pointee = 0
            guard let m = try? b.endpoint.receive(timeoutMs: Int(timeout)) else { return 0 }
            b.topic = Array(m.topic.utf8CString)
            b.payload = m.payload
            b.topic.withUnsafeBufferPointer { topic!.pointee = $0.baseAddress }
            b.payload.withUnsafeBufferPointer { payload!.pointee = $0.baseAddress }
            length!.pointee = m.payload.count
            received!.pointee = 1
            return 0
        }

        let identity = KeyPair.generate()
        var secret = [UInt8](repeating: 0, count: 64)
        var pk = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(dde_keypair(&pk, &secret), 0)
        _ = identity
        var client: OpaquePointer?
        let storePath = dir.appendingPathComponent("c.sqlite").path
        // dde_transport_methods version 1 (cdde_transport_methods has its layout).
        var methods = cdde_transport_methods(version: 1, publish: publish, subscribe: subscribe, unsubscribe: nil,
                                             receive: receive)
        XCTAssertEqual(dde_client_new(storePath, secret, &methods, context, &client), 0)
        defer { _ = dde_client_free(client) }  // after a failed assertion; DDE_ERR_CLOSED after the free below

        let module = try exampleModule("wallet")
        var hash = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(module.withUnsafeBytes { dde_client_publish_code(client, $0.baseAddress, $0.count, &hash) }, 0)
        var count = 0
        XCTAssertEqual(dde_client_discover(client, 100, &count), 0)
        XCTAssertEqual(count, 2)

        let spec = #"{"dappId":"wallet","dappCodeHash":"\#(Hex.encode(hash))","action":"mint","payload":{"amount":12,"to":"me"},"requiredCapabilities":["state.read","state.write"],"stateKeys":["balance/me"]}"#
        let options = #"{"mode":"first_valid","fanout":2,"lingerMs":3000}"#
        var report: UnsafeMutablePointer<CChar>?
        var reportLength = 0
        let rc = dde_client_delegate(client, spec, spec.utf8.count, options, options.utf8.count, &report, &reportLength)
        XCTAssertEqual(rc, 0, "dde_client_delegate failed")
        let doc = try JSONParser.parse(Array(UnsafeRawBufferPointer(start: report, count: reportLength)))
        dde_free(report)
        XCTAssertEqual(doc.objectValue?["result"], try JSONParser.parse(#"{"ok":true,"to":12}"#))
        XCTAssertEqual(doc.objectValue?["receipt"]?.objectValue?["index"], .number(0))
        let verdicts = doc.objectValue?["answers"]?.arrayValue?.compactMap { $0.objectValue?["verdict"]?.stringValue } ?? []
        // The forger's altered copy is no answer (check 7 proves nothing about its signer).
        XCTAssertEqual(Set(verdicts), ["accepted", "unattributed"])

        // Bad options are refused with their own code and nothing is sent.
        let bad = #"{"mode":"majority"}"#
        XCTAssertEqual(dde_client_delegate(client, spec, spec.utf8.count, bad, bad.utf8.count, nil, nil), Status.schema.rawValue)
        // A quorum larger than the executors known: no executor set fits.
        let big = #"{"mode":"quorum","quorum":3}"#
        XCTAssertEqual(dde_client_delegate(client, spec, spec.utf8.count, big, big.utf8.count, nil, nil), Status.noExecutor.rawValue)

        XCTAssertEqual(dde_client_free(client), 0)
        XCTAssertEqual(dde_client_free(client), Status.closed.rawValue, "a second free is reported, not a crash")
        XCTAssertEqual(dde_client_discover(client, 0, &count), Status.closed.rawValue, "use after free")
        let store = try Store(path: storePath)
        defer { store.close() }
        XCTAssertEqual(try store.verifyChain().count, 1)
        XCTAssertEqual(try store.dappValue("wallet", key: Array("balance/me".utf8)), Array("12".utf8))
    }
}
