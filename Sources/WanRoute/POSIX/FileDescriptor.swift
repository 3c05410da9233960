import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file, closed when the last reference goes, with the loops POSIX asks of careful callers:
/// writes continue after a short write and `EINTR`, reads fill what they can, and every failure is a
/// ``SystemCallError`` naming the call and the file.
///
/// Durability is the caller's to ask for (``syncData()``); nothing is retried after a failed sync,
/// because after a failed `fsync` the kernel may have dropped the dirty pages ("fsyncgate"): retrying
/// would report success for data that is gone.
public final class FileDescriptor: @unchecked Sendable {
    /// The descriptor number.
    public let fd: Int32
    /// The path it was opened at, for messages.
    public let path: String
    let calls: any SystemCalls

    private init(fd: Int32, path: String, calls: any SystemCalls) {
        self.fd = fd
        self.path = path
        self.calls = calls
    }

    deinit { _ = calls.close(fd) }

    /// Opens `path` with `open(2)` flags (`O_CLOEXEC` is always added); retries `EINTR`.
    public static func open(_ path: String, flags: Int32, mode: UInt32 = 0o644, calls: any SystemCalls = POSIXSystemCalls()) throws -> FileDescriptor {
        while true {
            let (fd, code) = calls.open(path, flags: flags, mode: mode)
            if fd >= 0 { return FileDescriptor(fd: fd, path: path, calls: calls) }
            if code == EINTR { continue }
            throw SystemCallError(call: "open", path: path, code: code)
        }
    }

    /// Opens `path` if it exists; nil when it does not.
    public static func openIfExists(_ path: String, flags: Int32, calls: any SystemCalls = POSIXSystemCalls()) throws -> FileDescriptor? {
        do {
            return try open(path, flags: flags, calls: calls)
        } catch let e as SystemCallError where e.code == ENOENT {
            return nil
        }
    }

    /// Writes every byte, continuing after short writes and `EINTR`. On an `O_APPEND` file under an
    /// exclusive lock the continuation lands right after the first part, so the bytes stay contiguous.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let (n, code) = calls.write(fd, rest)
            if n < 0 {
                if code == EINTR { continue }
                throw SystemCallError(call: "write", path: path, code: code)
            }
            if n == 0 { throw SystemCallError(call: "write", path: path, code: EIO) }
            offset += n
        }
    }

    /// Writes every byte of `bytes` (see ``writeAll(_:)-(UnsafeRawBufferPointer)``).
    public func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    /// Reads up to `count` bytes at `offset`, fewer only at the end of the file.
    public func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = try buffer.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        buffer.removeLast(count - got)
        return buffer
    }

    /// Fills `buffer` from `offset` as far as the file goes; returns the bytes read.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let (n, code) = calls.pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), offset: offset + Int64(filled))
            if n < 0 {
                if code == EINTR { continue }
                throw SystemCallError(call: "read", path: path, code: code)
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// `fdatasync`: the file's data (and its size) are on stable storage when this returns.
    /// A failure is final: the caller must stop trusting the file's unsynced writes.
    public func syncData() throws {
        let (r, code) = calls.fdatasync(fd)
        if r != 0 { throw SystemCallError(call: "fdatasync", path: path, code: code) }
    }

    /// `fsync`: data and metadata (needed for directories after a rename or create).
    public func sync() throws {
        let (r, code) = calls.fsync(fd)
        if r != 0 { throw SystemCallError(call: "fsync", path: path, code: code) }
    }

    /// Takes an exclusive (or shared) `flock`, waiting for it. `flock` locks belong to the open file
    /// description, not the process, so closing another descriptor of the file does not drop them
    /// (unlike POSIX `fcntl` locks).
    public func lock(exclusive: Bool = true) throws {
        while true {
            let (r, code) = calls.flock(fd, exclusive ? LOCK_EX : LOCK_SH)
            if r == 0 { return }
            if code == EINTR { continue }
            throw SystemCallError(call: "flock", path: path, code: code)
        }
    }

    /// Releases the lock.
    public func unlock() {
        _ = calls.flock(fd, LOCK_UN)
    }

    /// Runs `body` holding the lock.
    public func withLock<T>(exclusive: Bool = true, _ body: () throws -> T) throws -> T {
        try lock(exclusive: exclusive)
        defer { unlock() }
        return try body()
    }

    /// The file's current size in bytes.
    public func size() throws -> Int64 {
        let (n, code) = calls.size(fd)
        if n < 0 { throw SystemCallError(call: "fstat", path: path, code: code) }
        return n
    }

    /// Cuts the file to `length` bytes.
    public func truncate(to length: Int64) throws {
        while true {
            let (r, code) = calls.ftruncate(fd, length)
            if r == 0 { return }
            if code == EINTR { continue }
            throw SystemCallError(call: "ftruncate", path: path, code: code)
        }
    }
}

/// Creating files so that a crash leaves either nothing or the whole file, never a part.
public enum DurableFiles {
    /// Writes `contents` to a temporary file beside `path`, syncs it, renames it over `path`, and
    /// syncs the directory so the rename itself survives a crash.
    public static func replace(_ path: String, with contents: [UInt8], calls: any SystemCalls = POSIXSystemCalls()) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff)"
        do {
            let file = try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644, calls: calls)
            try file.writeAll(contents)
            try file.sync()
        } catch {
            _ = unlink(temporary)
            throw error
        }
        let (r, code) = calls.rename(temporary, path)
        if r != 0 {
            _ = unlink(temporary)
            throw SystemCallError(call: "rename", path: path, code: code)
        }
        try syncDirectory(directory, calls: calls)
    }

    /// Creates `path` empty if it does not exist yet, durably (temp, fsync, rename, fsync the
    /// directory); an existing file is left alone. Safe when several processes race to create it:
    /// `link(2)` (not `rename`) publishes the file, so a racing loser cannot replace a winner's file.
    public static func createIfMissing(_ path: String, calls: any SystemCalls = POSIXSystemCalls()) throws {
        if access(path, F_OK) == 0 { return }
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff)"
        defer { _ = unlink(temporary) }
        let file = try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644, calls: calls)
        try file.sync()
        if link(temporary, path) != 0 && errno != EEXIST {
            throw SystemCallError(call: "link", path: path, code: errno)
        }
        try syncDirectory(directory, calls: calls)
    }

    /// `fsync` on a directory, so entries created or renamed in it are durable.
    public static func syncDirectory(_ directory: String, calls: any SystemCalls = POSIXSystemCalls()) throws {
        let dir = try FileDescriptor.open(directory.isEmpty ? "." : directory, flags: O_RDONLY | O_DIRECTORY, calls: calls)
        try dir.sync()
    }

    /// Creates a directory and any missing parents (mode 0700: spend records are private).
    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SystemCallError(call: "mkdir", path: path, code: EACCES)
        }
    }
}
