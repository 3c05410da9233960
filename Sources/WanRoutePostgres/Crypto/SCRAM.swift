import Foundation
import WanRoute

/// The client side of SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash), as PostgreSQL speaks it: no
/// channel binding (there is no TLS to bind to), and the server's signature checked before the
/// login is accepted, so a server that does not know the password cannot pretend to.
///
/// SASLprep (RFC 4013) is not implemented: ASCII passwords, the usual kind, are their own SASLprep
/// form; any other password is sent as its UTF-8 bytes, which matches PostgreSQL when the password
/// is already in NFKC form and holds no characters that SASLprep maps or prohibits.
public struct SCRAMSHA256Client: Sendable {
    /// Why a SCRAM exchange was refused on the client side.
    public enum Failure: Error, Equatable, Sendable {
        /// The server's message was not of the form RFC 5802 gives; the text says which part.
        case malformedServerMessage(String)
        /// The server's nonce does not begin with ours (a replayed or forged exchange).
        case nonceMismatch
        /// The iteration count is outside 1...maximumIterations (a server could make us spin).
        case iterationCountOutOfRange(Int)
        /// The server reported an error in its final message (`e=...`).
        case serverRejected(String)
        /// The server's signature is wrong: it does not know the password. Never log in then.
        case serverSignatureMismatch
    }

    /// The most PBKDF2 iterations accepted from a server (PostgreSQL's default is 4096).
    public static let maximumIterations = 1_000_000

    private let password: [UInt8]
    private let clientNonce: String
    private let clientFirstBare: String
    private var expectedServerSignature: [UInt8]?

    /// Starts an exchange. PostgreSQL ignores the SCRAM user name (it uses the start-up packet's),
    /// so it is empty by default; `clientNonce` must be fresh and random, and is settable for tests.
    public init(username: String = "", password: String, clientNonce: String = SCRAMSHA256Client.randomNonce()) {
        self.password = Array(password.utf8)
        self.clientNonce = clientNonce
        let escapedName = username.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
        self.clientFirstBare = "n=\(escapedName),r=\(clientNonce)"
    }

    /// A fresh nonce: 18 random bytes in base64 (printable, no commas).
    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<18).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    /// The client-first message: no channel binding (`n,,`), then the bare part.
    public var clientFirstMessage: String { "n,,\(clientFirstBare)" }

    /// Takes the server-first message and returns the client-final message with the proof.
    public mutating func clientFinalMessage(serverFirst: String) throws(Failure) -> String {
        let fields = try Self.attributes(serverFirst)
        guard let nonce = fields["r"], let saltText = fields["s"], let iterationText = fields["i"] else {
            throw .malformedServerMessage("server-first lacks r=, s= or i=")
        }
        guard nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else { throw .nonceMismatch }
        guard let salt = Data(base64Encoded: saltText), !salt.isEmpty else { throw .malformedServerMessage("salt is not base64") }
        guard let iterations = Int(iterationText) else { throw .malformedServerMessage("iteration count is not a number") }
        guard (1...Self.maximumIterations).contains(iterations) else { throw .iterationCountOutOfRange(iterations) }

        let withoutProof = "c=biws,r=\(nonce)"  // biws = base64("n,,")
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let salted = PBKDF2SHA256.derive(password: password, salt: Array(salt), iterations: iterations)
        let saltedKey = HMACSHA256(key: salted)
        let clientKey = saltedKey.authenticate(Array("Client Key".utf8))
        let storedKey = SHA256.hash(clientKey)
        let clientSignature = HMACSHA256.authenticate(authMessage, key: storedKey)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = saltedKey.authenticate(Array("Server Key".utf8))
        expectedServerSignature = HMACSHA256.authenticate(authMessage, key: serverKey)
        return "\(withoutProof),p=\(Data(proof).base64EncodedString())"
    }

    /// Checks the server-final message; returns only if the server proved it knows the password.
    public func verify(serverFinal: String) throws(Failure) {
        let fields = try Self.attributes(serverFinal)
        if let error = fields["e"] { throw .serverRejected(error) }
        guard let expected = expectedServerSignature else { throw .malformedServerMessage("server-final before server-first") }
        guard let text = fields["v"], let signature = Data(base64Encoded: text) else {
            throw .malformedServerMessage("server-final lacks v=")
        }
        // Compare every byte, so the time taken says nothing about where they differ.
        guard signature.count == expected.count, zip(signature, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw .serverSignatureMismatch
        }
    }

    /// Splits `a=1,b=2` into attributes; a value may itself hold `=` (base64 padding).
    private static func attributes(_ message: String) throws(Failure) -> [String: String] {
        var result: [String: String] = [:]
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, part.dropFirst().first == "=" else {
                throw .malformedServerMessage("attribute '\(part.prefix(1))' is not of the form x=value")
            }
            result[String(part.prefix(1))] = String(part.dropFirst(2))
        }
        return result
    }
}
