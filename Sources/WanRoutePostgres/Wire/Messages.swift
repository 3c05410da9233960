/// Frontend messages of protocol 3.0, encoded into one buffer so a whole exchange
/// (Parse, Bind, Describe, Execute, Sync) leaves in a single write.
struct FrontendBuffer {
    private(set) var bytes: [UInt8] = []

    /// The start-up packet: no type byte, protocol 3.0, then name/value pairs.
    mutating func startup(parameters: [(String, String)]) {
        let start = bytes.count
        int32(0)
        int32(196_608)  // 3 << 16 | 0
        for (name, value) in parameters {
            cString(name)
            cString(value)
        }
        bytes.append(0)
        patchLength(at: start)
    }

    /// CancelRequest, sent on a new connection of its own.
    mutating func cancelRequest(processID: Int32, secretKey: Int32) {
        int32(16)
        int32(80_877_102)
        int32(processID)
        int32(secretKey)
    }

    /// PasswordMessage, also used for SASLInitialResponse and SASLResponse (all are type 'p').
    mutating func password(_ text: String) {
        message("p") { $0.cString(text) }
    }

    mutating func saslInitialResponse(mechanism: String, data: [UInt8]) {
        message("p") {
            $0.cString(mechanism)
            $0.int32(Int32(data.count))
            $0.bytes += data
        }
    }

    mutating func saslResponse(_ data: [UInt8]) {
        message("p") { $0.bytes += data }
    }

    /// Parse: every parameter's type given as an OID (0 lets the server infer it).
    mutating func parse(statement: String, query: String, parameterTypes: [UInt32]) {
        message("P") {
            $0.cString(statement)
            $0.cString(query)
            $0.int16(Int16(parameterTypes.count))
            for oid in parameterTypes { $0.int32(Int32(bitPattern: oid)) }
        }
    }

    /// Bind with every parameter and every result column in text format.
    mutating func bind(portal: String, statement: String, values: [[UInt8]?]) {
        message("B") {
            $0.cString(portal)
            $0.cString(statement)
            $0.int16(0)  // all parameters in text format
            $0.int16(Int16(values.count))
            for value in values {
                if let value {
                    $0.int32(Int32(value.count))
                    $0.bytes += value
                } else {
                    $0.int32(-1)
                }
            }
            $0.int16(0)  // all result columns in text format
        }
    }

    mutating func describe(portal: String) {
        message("D") { $0.bytes.append(UInt8(ascii: "P")); $0.cString(portal) }
    }

    mutating func describe(statement: String) {
        message("D") { $0.bytes.append(UInt8(ascii: "S")); $0.cString(statement) }
    }

    mutating func execute(portal: String) {
        message("E") { $0.cString(portal); $0.int32(0) }  // 0: all rows
    }

    mutating func closeStatement(_ name: String) {
        message("C") { $0.bytes.append(UInt8(ascii: "S")); $0.cString(name) }
    }

    mutating func sync() { message("S") { _ in } }

    mutating func terminate() { message("X") { _ in } }

    private mutating func message(_ type: Character, _ body: (inout FrontendBuffer) -> Void) {
        bytes.append(type.asciiValue!)
        let start = bytes.count
        int32(0)
        body(&self)
        patchLength(at: start)
    }

    private mutating func patchLength(at start: Int) {
        let length = UInt32(bytes.count - start)
        bytes[start] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[start + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[start + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[start + 3] = UInt8(truncatingIfNeeded: length)
    }

    mutating func int32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes += [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    mutating func int16(_ value: Int16) {
        let v = UInt16(bitPattern: value)
        bytes += [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// A NUL-terminated string; callers have already refused strings that contain NUL.
    mutating func cString(_ text: String) {
        bytes += text.utf8
        bytes.append(0)
    }
}

/// One backend message: its type byte and its body (the length already checked and removed).
struct BackendMessage {
    var type: UInt8
    var body: [UInt8]

    var typeName: String { type >= 0x20 && type < 0x7f ? String(UnicodeScalar(type)) : "0x" + String(type, radix: 16) }
}

/// Reads fields from a backend message body; every read is bounds-checked, since the bytes are the server's.
struct MessageReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(PostgresError) -> UInt8 {
        guard offset < bytes.count else { throw .protocolViolation("a message ended early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int16() throws(PostgresError) -> Int16 {
        guard remaining >= 2 else { throw .protocolViolation("a message ended early") }
        defer { offset += 2 }
        return Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
    }

    mutating func int32() throws(PostgresError) -> Int32 {
        guard remaining >= 4 else { throw .protocolViolation("a message ended early") }
        defer { offset += 4 }
        let value = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        return Int32(bitPattern: value)
    }

    mutating func bytes(_ count: Int) throws(PostgresError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .protocolViolation("a field runs past the end of its message") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }

    /// A NUL-terminated UTF-8 string.
    mutating func cString() throws(PostgresError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw .protocolViolation("a string is not terminated") }
        defer { offset = end + 1 }
        guard let text = String(validating: bytes[offset..<end], as: UTF8.self) else { throw .protocolViolation("a string is not UTF-8") }
        return text
    }
}

extension PostgresServerError {
    /// Reads an ErrorResponse (or NoticeResponse) body: typed fields, each a C string, ending in NUL.
    init(parsing body: [UInt8]) throws(PostgresError) {
        var reader = MessageReader(body)
        var fields: [UInt8: String] = [:]
        while true {
            let code = try reader.byte()
            if code == 0 { break }
            fields[code] = try reader.cString()
        }
        // V is the non-localised severity (9.6+); S may be translated.
        self.init(
            severity: fields[UInt8(ascii: "V")] ?? fields[UInt8(ascii: "S")] ?? "ERROR",
            code: fields[UInt8(ascii: "C")] ?? "XX000",
            message: fields[UInt8(ascii: "M")] ?? "(no message)",
            detail: fields[UInt8(ascii: "D")],
            hint: fields[UInt8(ascii: "H")],
            constraint: fields[UInt8(ascii: "n")]
        )
    }
}
