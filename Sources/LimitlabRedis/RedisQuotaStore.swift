public import LimitlabCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timeouts, key namespace and reconnect policy of a `RedisQuotaStore`.
public struct RedisQuotaOptions: Sendable {
    /// Seconds to open the connection (TCP or unix socket).
    public var connectTimeout: Double
    /// Seconds a command may take (send and reply); past it the call throws and the connection is
    /// dropped. Every quota call is one round trip.
    public var commandTimeout: Double
    /// Prepended to every key: `<keyPrefix>tb:<key>`, `<keyPrefix>gcra:<key>`. Give each run (and
    /// each strategy of a run) its own prefix so runs never share state.
    public var keyPrefix: String
    /// After a failure, calls throw at once, without touching the network, for this long; it
    /// doubles with each further failure up to `maxReconnectBackoff`. A dead Redis then costs one
    /// timeout per backoff period, not one per request.
    public var reconnectBackoff: Double
    public var maxReconnectBackoff: Double
    /// Milliseconds a key outlives the moment it becomes equivalent to a missing key (bucket full,
    /// TAT passed): margin for clocks that disagree a little.
    public var expirySlackMilliseconds: Int
    /// Longest key lifetime (milliseconds), for buckets that never refill (rate 0).
    public var maxKeyTTLMilliseconds: Int

    public init(connectTimeout: Double = 0.2, commandTimeout: Double = 0.2, keyPrefix: String = "limitlab:",
                reconnectBackoff: Double = 0.1, maxReconnectBackoff: Double = 2,
                expirySlackMilliseconds: Int = 60_000, maxKeyTTLMilliseconds: Int = 86_400_000) {
        self.connectTimeout = connectTimeout; self.commandTimeout = commandTimeout; self.keyPrefix = keyPrefix
        self.reconnectBackoff = reconnectBackoff; self.maxReconnectBackoff = maxReconnectBackoff
        self.expirySlackMilliseconds = expirySlackMilliseconds; self.maxKeyTTLMilliseconds = maxKeyTTLMilliseconds
    }
}

/// A `SharedQuotaStore` in Redis: worker processes on one or several machines share one quota.
/// Each call is one `EVALSHA` of a Lua script (loaded with `SCRIPT LOAD`, reloaded after
/// `NOSCRIPT`) that runs `InMemoryQuotaStore`'s arithmetic atomically on the server, at the `now`
/// the client passes (as Bottleneck's Redis clustering does): workers' clocks must agree.
///
/// Failures — refused, reset, timeout, a script or authentication error — throw
/// `SharedQuotaError` naming the redacted URL and what to do; the store never traps. The next
/// call reconnects, after a backoff during which calls throw at once (`RedisQuotaOptions`).
///
/// Threading: one connection, meant to be owned by one thread (the live runner's engine thread
/// creates it and is its only user). Calls are serialised by a lock, so use from another thread
/// is safe, only slower.
public final class RedisQuotaStore: SharedQuotaStore, @unchecked Sendable {
    public let url: RedisURL
    public let options: RedisQuotaOptions

    private let lock = NSLock()
    private var connection: RedisConnection?
    private var shas: [String: String] = [:]   // script text → SHA1 on the current connection
    private var failures = 0
    private var retryAt = 0.0                  // monotonic seconds
    private var lastFailure = ""

    /// Parses `url`; connects on the first call (or `ping()`).
    public convenience init(url: String, options: RedisQuotaOptions = RedisQuotaOptions()) throws(SharedQuotaError) {
        self.init(url: try RedisURL(parsing: url), options: options)
    }

    public init(url: RedisURL, options: RedisQuotaOptions = RedisQuotaOptions()) {
        self.url = url
        self.options = options
    }

    /// Connects if needed and checks the server answers (`PING`), and loads the scripts. Call it
    /// before a run to fail early with a clear message.
    public func ping() throws(SharedQuotaError) {
        try locked { () throws(SharedQuotaError) in
            let c = try connected()
            let reply: RedisValue
            do throws(RedisFailure) { reply = try c.command(["PING"]) } catch { throw failed(error, doing: "PING") }
            switch reply {
            case .status, .string: break
            case .error(let e): throw SharedQuotaError(message(for: e, doing: "PING"))
            default: throw SharedQuotaError("\(prefix) answered PING with \(reply)")
            }
            for script in [QuotaScripts.takeTokens, QuotaScripts.adjustTokens, QuotaScripts.takeGCRA] {
                _ = try sha(script, on: c)
            }
        }
    }

    /// Drops the connection (the next call reconnects without waiting for a backoff).
    public func disconnect() {
        lock.withLock {
            connection = nil
            shas = [:]
            failures = 0
            retryAt = 0
        }
    }

    // MARK: SharedQuotaStore

    public func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                           now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try checkDimensions(costs.count, capacities.count, refillPerSecond.count, "takeTokens")
        return try decision(try run(QuotaScripts.takeTokens, key: "tb:" + key,
                                    args: bucketArgs(now, costs, capacities, refillPerSecond)
                                        + [Self.number(reserveWithin)]))
    }

    public func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                             now: Double) throws(SharedQuotaError) {
        try checkDimensions(amounts.count, capacities.count, refillPerSecond.count, "adjustTokens")
        _ = try decision(try run(QuotaScripts.adjustTokens, key: "tb:" + key,
                                 args: bucketArgs(now, amounts, capacities, refillPerSecond)))
    }

    public func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                         now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try decision(try run(QuotaScripts.takeGCRA, key: "gcra:" + key,
                             args: [Self.number(now), Self.number(quantity), Self.number(emissionInterval),
                                    Self.number(tolerance), String(options.expirySlackMilliseconds),
                                    String(options.maxKeyTTLMilliseconds), Self.number(reserveWithin)]))
    }

    // MARK: Internals

    private var prefix: String { "shared quota store \(url.redacted)" }

    private func checkDimensions(_ a: Int, _ b: Int, _ c: Int, _ what: String) throws(SharedQuotaError) {
        guard a == b, b == c, a > 0 else {
            throw SharedQuotaError("\(prefix): \(what) needs as many amounts, capacities and refill rates "
                                   + "(got \(a), \(b), \(c)); this is a bug in the calling strategy")
        }
    }

    private func bucketArgs(_ now: Double, _ amounts: [Double], _ caps: [Double], _ rates: [Double]) -> [String] {
        var a = [Self.number(now), String(amounts.count), String(options.expirySlackMilliseconds),
                 String(options.maxKeyTTLMilliseconds)]
        a.reserveCapacity(4 + 3 * amounts.count)
        for v in amounts { a.append(Self.number(v)) }
        for v in caps { a.append(Self.number(v)) }
        for v in rates { a.append(Self.number(v)) }
        return a
    }

    /// Exact text of a double: Swift's shortest representation that round-trips ("0.1", "1e-05",
    /// "inf"), which `tonumber` (strtod) reads back to the same bits; as precise as "%.17g". The
    /// scripts read "inf" and "-inf" themselves (an unlimited `reserveWithin` is "inf").
    static func number(_ v: Double) -> String { v.description }

    private func decision(_ reply: RedisValue) throws(SharedQuotaError) -> SharedQuotaDecision {
        guard case .array(let items) = reply, items.count == 2, case .string(let flag) = items[0],
              case .string(let wait) = items[1], let retry = Double(wait), ["0", "1", "2"].contains(flag)
        else {
            throw SharedQuotaError("\(prefix): unexpected script reply \(reply); is another program using "
                                   + "keys under \(options.keyPrefix)?")
        }
        // "1" allowed now, "2" reserved (charged, slot `retry` seconds ahead), "0" refused.
        return SharedQuotaDecision(allowed: flag != "0", retryAfter: retry, reserved: flag == "2")
    }

    private func locked<T>(_ body: () throws(SharedQuotaError) -> T) throws(SharedQuotaError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// EVALSHA the script on `key` (under the prefix); NOSCRIPT (a restarted or flushed server)
    /// loads it again once.
    private func run(_ script: String, key: String, args: [String]) throws(SharedQuotaError) -> RedisValue {
        try locked { () throws(SharedQuotaError) -> RedisValue in
            let c = try connected()
            let fullKey = options.keyPrefix + key
            for attempt in 0..<2 {
                let hash = try sha(script, on: c)
                let reply: RedisValue
                do throws(RedisFailure) { reply = try c.command(["EVALSHA", hash, "1", fullKey] + args) } catch {
                    throw failed(error, doing: "EVALSHA")
                }
                if case .error(let e) = reply {
                    if e.hasPrefix("NOSCRIPT") && attempt == 0 {
                        shas[script] = nil
                        continue
                    }
                    throw SharedQuotaError(message(for: e, doing: "the quota script"))
                }
                succeeded()
                return reply
            }
            throw SharedQuotaError("\(prefix): the quota script vanished again right after SCRIPT LOAD "
                                   + "(is something running SCRIPT FLUSH?)")
        }
    }

    private func sha(_ script: String, on c: RedisConnection) throws(SharedQuotaError) -> String {
        if let s = shas[script] { return s }
        let reply: RedisValue
        do { reply = try c.command(["SCRIPT", "LOAD", script]) } catch { throw failed(error, doing: "SCRIPT LOAD") }
        switch reply {
        case .string(let s):
            shas[script] = s
            return s
        case .error(let e): throw SharedQuotaError(message(for: e, doing: "SCRIPT LOAD"))
        default: throw SharedQuotaError("\(prefix): SCRIPT LOAD answered \(reply)")
        }
    }

    /// The open connection, or a new one (AUTH, SELECT); throws at once inside a backoff.
    private func connected() throws(SharedQuotaError) -> RedisConnection {
        if let c = connection { return c }
        let now = Self.monotonic()
        if now < retryAt {
            throw SharedQuotaError("\(lastFailure) [not retrying for another "
                                   + "\(Int(((retryAt - now) * 1000).rounded(.up))) ms]")
        }
        let c: RedisConnection
        do {
            c = try RedisConnection(url, connectTimeout: options.connectTimeout, commandTimeout: options.commandTimeout)
        } catch {
            throw failed(error, doing: "connect")
        }
        if let password = url.password {
            var args = ["AUTH"]
            if let u = url.username { args.append(u) }
            args.append(password)
            try setup(c, args, doing: "AUTH")
        }
        if url.database != 0 { try setup(c, ["SELECT", String(url.database)], doing: "SELECT \(url.database)") }
        connection = c
        shas = [:]
        return c
    }

    private func setup(_ c: RedisConnection, _ args: [String], doing what: String) throws(SharedQuotaError) {
        let reply: RedisValue
        do { reply = try c.command(args) } catch { throw failed(error, doing: what) }
        if case .error(let e) = reply {
            let err = SharedQuotaError(message(for: e, doing: what))
            noteFailure(err.message)
            throw err
        }
    }

    private func succeeded() {
        failures = 0
        retryAt = 0
    }

    private func noteFailure(_ why: String) {
        connection = nil
        shas = [:]
        failures += 1
        let backoff = Swift.min(options.maxReconnectBackoff,
                                options.reconnectBackoff * pow(2, Double(Swift.min(failures - 1, 30))))
        retryAt = Self.monotonic() + backoff
        lastFailure = why
    }

    /// A transport failure: drop the connection, start the backoff, say what to do.
    private func failed(_ error: RedisFailure, doing what: String) -> SharedQuotaError {
        let text: String
        switch error {
        case .connect(let why):
            let lower = why.lowercased()
            var fix = "is redis-server running there? Start it or fix the URL (--redis)"
            if lower.contains("timed out") || lower.contains("in progress") || lower.contains("temporarily") {
                fix = "no answer within \(Self.ms(options.connectTimeout)) (connect timeout); check the host, port "
                    + "and firewall, or raise the connect timeout"
            } else if lower.contains("name or service") || lower.contains("resolve") || lower.contains("not known") {
                fix = "the host name does not resolve; fix the URL (--redis)"
            } else if lower.contains("no such file") {
                fix = "no socket at that path; start redis-server with unixsocket there or fix the URL (--redis)"
            }
            text = "\(prefix): cannot connect (\(why)): \(fix)"
        case .io(let why):
            let lower = why.lowercased()
            if lower.contains("temporarily unavailable") || lower.contains("timed out") || lower.contains("would block") {
                text = "\(prefix): no reply to \(what) within \(Self.ms(options.commandTimeout)) (command timeout); "
                    + "the server is overloaded, stopped or unreachable. Check it, or raise the command timeout"
            } else {
                text = "\(prefix): connection lost during \(what) (\(why)); will reconnect. Check that "
                    + "redis-server is still running"
            }
        }
        let message = RedisURL.redact(text)
        noteFailure(message)
        return SharedQuotaError(message)
    }

    /// A Redis error reply, with a hint for the usual causes.
    private func message(for error: String, doing what: String) -> String {
        var hint = ""
        if error.hasPrefix("NOAUTH") {
            hint = ": the server requires a password; put it in the URL (redis://:PASSWORD@host:port)"
        } else if error.hasPrefix("WRONGPASS") || error.contains("invalid password") || error.contains("invalid username") {
            hint = ": wrong user or password in the URL"
        } else if error.contains("without any password") || error.contains("no password is set") {
            hint = ": the server has no password; remove it from the URL"
        } else if error.hasPrefix("WRONGTYPE") {
            hint = ": another program uses keys under \(options.keyPrefix); choose another key prefix"
        } else if error.hasPrefix("ERR DB index") || error.contains("invalid DB index") {
            hint = ": that database number does not exist on the server; fix /db in the URL"
        } else if error.hasPrefix("BUSY") || error.hasPrefix("LOADING") {
            hint = ": the server is busy; retry later"
        }
        return RedisURL.redact("\(prefix): \(what) failed: \(error)\(hint)")
    }

    private static func ms(_ s: Double) -> String { "\(Int((s * 1000).rounded())) ms" }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
