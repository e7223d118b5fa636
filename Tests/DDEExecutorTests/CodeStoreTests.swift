import DDE
import DDEExecutor
import Foundation
import XCTest

final class CodeStoreTests: XCTestCase {
    func testAddAndLoadByHash() throws {
        let store = try CodeStore(directory: temporaryDirectory(self))
        let module = try exampleModule("counter")
        let hash = try store.add(module)
        XCTAssertEqual(hash, SHA256.hash(module))
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.directory.appendingPathComponent(hash.hex + ".wasm").path))
        XCTAssertEqual(try store.module(for: hash), module)
        // Adding again is idempotent.
        XCTAssertEqual(try store.add(module), hash)
        XCTAssertEqual(try store.add(module, expecting: hash), hash)
    }

    func testAddWATCompilesFirst() throws {
        let store = try CodeStore(directory: temporaryDirectory(self))
        let source = "(module (func (export \"a\") (result i32) (i32.const 0)))"
        let hash = try store.add(wat: source)
        XCTAssertEqual(try store.module(for: hash), try CodeStore.compile(wat: source))
        XCTAssertEqual(try store.module(for: hash).prefix(4), [0x00, 0x61, 0x73, 0x6d])
        XCTAssertThrowsError(try store.add(wat: "(module (func (result i32) (i32.const)))")) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeInvalid)
        }
    }

    func testMissingModuleIsCodeNotFound() throws {
        let store = try CodeStore(directory: temporaryDirectory(self))
        XCTAssertThrowsError(try store.module(for: SHA256.hash(bytes("nothing")))) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeNotFound)
        }
    }

    func testBytesNotMatchingTheirNameAreCodeHash() throws {
        let store = try CodeStore(directory: temporaryDirectory(self))
        let module = try exampleModule("counter")
        let hash = try store.add(module)
        var tampered = module
        tampered[tampered.count - 1] ^= 1
        try Data(tampered).write(to: store.path(for: hash))
        XCTAssertThrowsError(try store.module(for: hash)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeHash)
        }
        // Adding the good bytes again repairs the entry.
        XCTAssertEqual(try store.add(module), hash)
        XCTAssertEqual(try store.module(for: hash), module)
    }

    func testAddRefusesBytesUnderTheWrongExpectedHash() throws {
        let store = try CodeStore(directory: temporaryDirectory(self))
        let module = try exampleModule("counter")
        let other = SHA256.hash(bytes("other"))
        XCTAssertThrowsError(try store.add(module, expecting: other)) { error in
            XCTAssertEqual((error as? DDEError)?.status, .codeHash)
        }
        XCTAssertFalse(store.contains(other))
        XCTAssertFalse(store.contains(SHA256.hash(module)))
    }
}
