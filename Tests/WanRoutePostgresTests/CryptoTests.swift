import WanRoute
import XCTest
@testable import WanRoutePostgres

/// HMAC-SHA-256, PBKDF2-HMAC-SHA-256 and SCRAM-SHA-256 against their published test vectors.
final class CryptoTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (case 5 truncates the output, which SCRAM never does).
    func testHMACSHA256RFC4231() {
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131),
             Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (number, (key, data, expected)) in cases.enumerated() {
            XCTAssertEqual(hex(HMACSHA256.authenticate(data, key: key)), expected, "case \(number)")
        }
    }

    /// RFC 7914 §11, the PBKDF2-HMAC-SHA256 vectors (64-byte outputs: two PBKDF2 blocks).
    func testPBKDF2RFC7914() {
        XCTAssertEqual(
            hex(PBKDF2SHA256.derive(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
        XCTAssertEqual(
            hex(PBKDF2SHA256.derive(password: Array("Password".utf8), salt: Array("NaCl".utf8), iterations: 80_000, length: 64)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")
    }

    /// RFC 7677 §3: the complete example exchange for user "user", password "pencil".
    func testSCRAMRFC7677Exchange() throws {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        XCTAssertEqual(client.clientFirstMessage, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        XCTAssertEqual(try client.clientFinalMessage(serverFirst: serverFirst),
                       "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        XCTAssertNoThrow(try client.verify(serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
    }

    /// A server that does not know the password cannot produce the signature; one that lies about the
    /// nonce or asks for absurd work is refused before any proof is computed.
    func testSCRAMRefusesForgedServers() throws {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        _ = try client.clientFinalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        XCTAssertThrowsError(try client.verify(serverFinal: "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")) {
            XCTAssertEqual($0 as? SCRAMSHA256Client.Failure, .serverSignatureMismatch)
        }
        XCTAssertThrowsError(try client.verify(serverFinal: "e=invalid-proof")) {
            XCTAssertEqual($0 as? SCRAMSHA256Client.Failure, .serverRejected("invalid-proof"))
        }
        var other = SCRAMSHA256Client(password: "pencil", clientNonce: "abc")
        XCTAssertThrowsError(try other.clientFinalMessage(serverFirst: "r=xyz123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")) {
            XCTAssertEqual($0 as? SCRAMSHA256Client.Failure, .nonceMismatch)
        }
        XCTAssertThrowsError(try other.clientFinalMessage(serverFirst: "r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000")) {
            XCTAssertEqual($0 as? SCRAMSHA256Client.Failure, .iterationCountOutOfRange(2_000_000_000))
        }
        for garbage in ["", "r=abc123", "r=abc123,s=!!!,i=1", "r=abc123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=x", "junk"] {
            XCTAssertThrowsError(try other.clientFinalMessage(serverFirst: garbage), garbage)
        }
        let fresh = SCRAMSHA256Client(password: "x")
        XCTAssertThrowsError(try fresh.verify(serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
    }
}
