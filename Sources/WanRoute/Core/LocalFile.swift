import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way wanroute opens a local file it did not write: without blocking, checked to be a
/// file (a named pipe would wait forever for a writer), and read only up to a stated limit, so
/// every input ends in bytes or a clear reason in bounded time and memory.
public enum LocalFile {
    /// Why a local file could not be used; each renders as a phrase after the path.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Nothing exists at the path.
        case notFound
        /// The path is a directory.
        case directory
        /// The path is a pipe, socket or other thing that is not a file (`kind` names it).
        case notAFile(kind: String)
        /// The file is larger than the limit for its kind (`what` names the kind).
        case tooLarge(limit: Int64, what: String)
        /// The operating system refused (permissions, I/O error).
        case unreadable(String)

        /// The reason as a phrase after the path: `is a named pipe (FIFO), not a file`.
        public var description: String {
            switch self {
            case .notFound: return "does not exist"
            case .directory: return "is a directory, not a file"
            case .notAFile(let kind): return "is \(kind), not a file; save its contents to a file first"
            case .tooLarge(let limit, let what): return "is larger than \(LocalFile.bytesText(limit)), the most \(what) may be"
            case .unreadable(let why): return "could not be read (\(why))"
            }
        }
    }

    /// An open descriptor on something that may be read as a file, with its size when it is a
    /// regular file (nil for a character device such as /dev/null).
    public struct Opened {
        /// The descriptor; the caller closes it.
        public let descriptor: Int32
        /// The size of a regular file.
        public let size: Int64?
    }

    /// Opens `path` for reading without blocking: regular files and character devices (/dev/null)
    /// are accepted; directories, pipes and sockets are refused with what they are.
    public static func open(_ path: String) -> Result<Opened, Failure> {
        let fd = path.withCString { posixOpen($0, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return .failure(.notFound) }
            if e == EISDIR { return .failure(.directory) }
            if e == ENXIO { return .failure(.notAFile(kind: "a socket or a device with nothing behind it")) }
            return .failure(.unreadable(String(cString: strerror(e))))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            return .failure(.unreadable(why))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return .success(Opened(descriptor: fd, size: Int64(info.st_size)))
        case S_IFCHR:
            return .success(Opened(descriptor: fd, size: nil))
        case S_IFDIR:
            close(fd)
            return .failure(.directory)
        case S_IFIFO:
            close(fd)
            return .failure(.notAFile(kind: "a named pipe (FIFO)"))
        case S_IFSOCK:
            close(fd)
            return .failure(.notAFile(kind: "a socket"))
        default:
            close(fd)
            return .failure(.notAFile(kind: "a device"))
        }
    }

    /// The whole contents of `path`, refused when longer than `limit` bytes (`what` names the
    /// kind of file in the message: "a pricing file"). At most `limit + 1` bytes are ever read.
    public static func read(_ path: String, limit: Int64, what: String) -> Result<[UInt8], Failure> {
        let opened: Opened
        switch open(path) {
        case .success(let o): opened = o
        case .failure(let f): return .failure(f)
        }
        defer { close(opened.descriptor) }
        if let size = opened.size, size > limit { return .failure(.tooLarge(limit: limit, what: what)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(opened.descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return .failure(.notAFile(kind: "a device that has nothing to read yet")) }
                return .failure(.unreadable(String(cString: strerror(errno))))
            }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
            if Int64(bytes.count) > limit { return .failure(.tooLarge(limit: limit, what: what)) }
        }
    }

    /// At most `limit` bytes from an open descriptor (standard input), stopping there: an
    /// endless stream (`< /dev/zero`) costs `limit` bytes, never more. Blocks like a read does.
    public static func read(descriptor: Int32, limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count < limit {
            let want = min(chunk.count, limit - bytes.count)
            let n = chunk.withUnsafeMutableBytes { posixRead(descriptor, $0.baseAddress, want) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// `1 MiB`, `16 MiB`, or bytes below a kibibyte.
    static func bytesText(_ n: Int64) -> String {
        if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10, n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(n) bytes"
    }
}

// The C functions under names the enum's own `open` and `read` do not shadow.
private func posixOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { open(path, flags) }
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
