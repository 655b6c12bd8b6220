import Foundation
import LimitlabRedis
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `redis-server` of the test's own on a free loopback port, in a temporary directory, with
/// persistence off. The tests kill and restart it, so it is never the shared CI instance.
/// Without redis-server installed the test fails (never skips): `make setup-test` installs it.
final class RedisServerFixture: @unchecked Sendable {
    let port: Int
    let password: String?
    let directory: URL
    private var process: Process?

    /// With `unixSocket`, the server also listens on `socketPath`.
    init(password: String? = nil, unixSocket: Bool = false) throws {
        guard let binary = Self.binary else {
            throw FixtureError("redis-server is not installed (looked in PATH, /usr/bin, /usr/sbin, /usr/local/bin): "
                               + "run `make setup-test` (apt package redis-server)")
        }
        self.binary = binary
        self.password = password
        self.unixSocket = unixSocket
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("limitlab-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        try start()
    }

    private let binary: String
    private let unixSocket: Bool

    var socketPath: String { directory.appendingPathComponent("redis.sock").path }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var url: String {
        password.map { "redis://:\($0)@127.0.0.1:\(port)" } ?? "redis://127.0.0.1:\(port)"
    }

    static var binary: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        return dirs.map { $0 + "/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts the server (again) on the same port and waits until it answers PING.
    func start() throws {
        precondition(process == nil, "already running")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        var args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "no", "--dir", directory.path, "--logfile", directory.appendingPathComponent("log").path]
        if let password { args += ["--requirepass", password] }
        if unixSocket { args += ["--unixsocket", socketPath, "--unixsocketperm", "700"] }
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !p.isRunning { throw FixtureError("redis-server exited at start: \(log)") }
            if Self.answersPing(port: port) { return }
            usleep(20_000)
        }
        throw FixtureError("redis-server on port \(port) did not answer within 10 s: \(log)")
    }

    /// SIGKILL, as a crash: no goodbye to clients.
    func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    func signal(_ sig: Int32) {
        if let p = process { Glibc.kill(p.processIdentifier, sig) }
    }

    /// SIGKILL too: a process spawned from a libdispatch worker thread inherits its blocked
    /// signal mask (SIGTERM included), and nothing is persisted anyway.
    func stop() { kill() }

    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("log"), encoding: .utf8))?.suffix(2000).description ?? ""
    }

    /// A TCP connect and `PING` with a raw socket (no dependency on the code under test).
    static func answersPing(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return false }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let ping = Array("PING\r\n".utf8)
        guard write(fd, ping, ping.count) == ping.count else { return false }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return false }
        let reply = String(decoding: buf[0..<n], as: UTF8.self)
        // +PONG, or -NOAUTH when a password is set: either way the server is up.
        return reply.hasPrefix("+PONG") || reply.hasPrefix("-NOAUTH")
    }

    /// A port the kernel just handed out on loopback (bound, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard bound == 0 else { throw FixtureError("could not bind a loopback port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A key prefix no other test uses.
func uniquePrefix(_ name: String) -> String { "limitlab-test:\(name):\(UUID().uuidString):" }
