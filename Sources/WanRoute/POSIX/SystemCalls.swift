import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file system calls the ledger makes, behind one seam so tests can inject short writes,
/// `EINTR` and a failing `fdatasync` without a faulty disk.
///
/// Each call mirrors its POSIX namesake: it returns the call's result and, on failure, `-1` with the
/// error number in the second member. ``FileDescriptor`` and ``DurableFiles`` turn these into
/// throwing operations with the loops POSIX demands (short writes, `EINTR`).
public protocol SystemCalls: Sendable {
    /// `open(2)`: a descriptor, or -1 and errno.
    func open(_ path: String, flags: Int32, mode: UInt32) -> (Int32, Int32)
    /// `close(2)`.
    func close(_ fd: Int32) -> (Int32, Int32)
    /// `write(2)`: bytes written (possibly fewer than asked), or -1 and errno.
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (Int, Int32)
    /// `pread(2)`: bytes read at `offset`, 0 at end of file, or -1 and errno.
    func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> (Int, Int32)
    /// `fdatasync(2)`: 0, or -1 and errno.
    func fdatasync(_ fd: Int32) -> (Int32, Int32)
    /// `fsync(2)`: 0, or -1 and errno (used on directories, whose metadata `fdatasync` may skip).
    func fsync(_ fd: Int32) -> (Int32, Int32)
    /// `flock(2)`: 0, or -1 and errno.
    func flock(_ fd: Int32, _ operation: Int32) -> (Int32, Int32)
    /// `ftruncate(2)`: 0, or -1 and errno.
    func ftruncate(_ fd: Int32, _ length: Int64) -> (Int32, Int32)
    /// The file's size from `fstat(2)`, or -1 and errno.
    func size(_ fd: Int32) -> (Int64, Int32)
    /// `rename(2)`: 0, or -1 and errno.
    func rename(_ from: String, _ to: String) -> (Int32, Int32)
}

/// The real system calls.
public struct POSIXSystemCalls: SystemCalls {
    /// The real calls.
    public init() {}

    /// `open(2)`, with `O_CLOEXEC`.
    public func open(_ path: String, flags: Int32, mode: UInt32) -> (Int32, Int32) {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode_t(mode))
        return (fd, fd < 0 ? errno : 0)
    }

    /// `close(2)`.
    public func close(_ fd: Int32) -> (Int32, Int32) {
        let r = Glibc.close(fd)
        return (r, r < 0 ? errno : 0)
    }

    /// `write(2)`.
    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (Int, Int32) {
        let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
        return (n, n < 0 ? errno : 0)
    }

    /// `pread(2)`.
    public func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> (Int, Int32) {
        let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
        return (n, n < 0 ? errno : 0)
    }

    /// `fdatasync(2)`.
    public func fdatasync(_ fd: Int32) -> (Int32, Int32) {
        let r = Glibc.fdatasync(fd)
        return (r, r < 0 ? errno : 0)
    }

    /// `fsync(2)`.
    public func fsync(_ fd: Int32) -> (Int32, Int32) {
        let r = Glibc.fsync(fd)
        return (r, r < 0 ? errno : 0)
    }

    /// `flock(2)`.
    public func flock(_ fd: Int32, _ operation: Int32) -> (Int32, Int32) {
        let r = systemFlock(fd, operation)
        return (r, r < 0 ? errno : 0)
    }

    /// `ftruncate(2)`.
    public func ftruncate(_ fd: Int32, _ length: Int64) -> (Int32, Int32) {
        let r = Glibc.ftruncate(fd, off_t(length))
        return (r, r < 0 ? errno : 0)
    }

    /// `fstat(2)`'s size.
    public func size(_ fd: Int32) -> (Int64, Int32) {
        var st = Glibc.stat()
        let r = Glibc.fstat(fd, &st)
        return r < 0 ? (-1, errno) : (Int64(st.st_size), 0)
    }

    /// `rename(2)`.
    public func rename(_ from: String, _ to: String) -> (Int32, Int32) {
        let r = Glibc.rename(from, to)
        return (r, r < 0 ? errno : 0)
    }
}

/// A system call that failed, with the file it was about and the error number.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call, such as `fdatasync`.
    public var call: String
    /// The file or directory the call was about.
    public var path: String
    /// The error number (`EIO`, `ENOSPC`, ...).
    public var code: Int32

    /// Creates an error.
    public init(call: String, path: String, code: Int32) {
        self.call = call
        self.path = path
        self.code = code
    }

    /// `fdatasync /path: Input/output error`.
    public var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
}

/// `flock(2)` itself: in Swift, `Glibc.flock` names the `struct flock` of `fcntl` locks instead.
@_silgen_name("flock")
private func systemFlock(_ fd: Int32, _ operation: Int32) -> Int32
