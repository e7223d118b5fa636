import XCTest
@testable import DDE

final class CryptoTests: XCTestCase {
    func testSHA256OfEmptyIsKnownVector() {
        XCTAssertEqual(SHA256.hash([UInt8]()).hex,
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
