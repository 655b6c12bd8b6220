public import LimitlabCore
import Foundation

/// Where a Redis server is, parsed from `redis://[[user]:password@]host[:port][/db]` or
/// `unix://[[user]:password@]/path/to/redis.sock[?db=N]`.
///
/// The password is kept but never printed: `description` (and so every message, log and report
/// that shows a URL) is `redacted`, with the password replaced by `***`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// ACL user (Redis 6+), sent as `AUTH user password`; nil: `AUTH password`.
    public var username: String?
    /// Logical database, sent as `SELECT db` when not 0.
    public var database: Int
    let password: String?

    public static let defaultPort = 6379

    public var hasPassword: Bool { password != nil }

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint; self.username = username; self.password = password; self.database = database
    }

    /// Parses a Redis URL. Errors name the redacted URL and what a valid one looks like.
    public init(parsing text: String) throws(SharedQuotaError) {
        let shown = Self.redact(text)
        func bad(_ why: String) -> SharedQuotaError {
            SharedQuotaError("Redis URL \(shown): \(why); expected redis://[:password@]host[:port][/db] "
                             + "or unix:///path/to/redis.sock[?db=N]")
        }
        guard let schemeEnd = text.range(of: "://") else { throw bad("no scheme") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(text[schemeEnd.upperBound...])
        guard scheme == "redis" || scheme == "unix" else {
            if scheme == "rediss" {
                throw bad("TLS (rediss://) is not supported by this build; use redis:// on a trusted network "
                          + "or a local TLS tunnel")
            }
            throw bad("unknown scheme \(scheme)://")
        }
        // Query (?db=N) first, then userinfo up to the last '@' before the path.
        var query: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(kv[0]).lowercased()] = kv.count > 1 ? String(kv[1]) : ""
            }
            rest = rest[..<q]
        }
        var username: String?
        var password: String?
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                let user = String(info[..<colon])
                username = user.isEmpty ? nil : try Self.decode(user, bad)
                password = try Self.decode(String(info[info.index(after: colon)...]), bad)
            } else if !info.isEmpty {
                // redis://secret@host: a bare userinfo is the password (as redis-py reads it).
                password = try Self.decode(String(info), bad)
            }
        }
        var database = 0
        if let db = query["db"] {
            guard let n = Int(db), n >= 0 else { throw bad("db must be a whole number ≥ 0, found \(db)") }
            database = n
        }
        let endpoint: Endpoint
        if scheme == "unix" {
            let path = String(rest)
            guard path.hasPrefix("/"), path.count > 1 else { throw bad("a unix socket needs an absolute path") }
            endpoint = .unix(path: path)
        } else {
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var hostPort = rest[..<slash]
            let pathPart = rest[slash...].drop(while: { $0 == "/" })
            if !pathPart.isEmpty {
                guard let n = Int(pathPart), n >= 0 else {
                    throw bad("the path must be a database number, found /\(pathPart)")
                }
                database = n
            }
            var host: Substring
            var port = Self.defaultPort
            if hostPort.hasPrefix("[") {
                guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [ in an IPv6 host") }
                host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
                hostPort = hostPort[hostPort.index(after: close)...]
                if hostPort.hasPrefix(":") {
                    guard let p = Int(hostPort.dropFirst()), (1...65535).contains(p) else {
                        throw bad("port must be 1–65535, found \(hostPort.dropFirst())")
                    }
                    port = p
                } else if !hostPort.isEmpty {
                    throw bad("unexpected \(hostPort) after the host")
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = hostPort[..<colon]
                let p = hostPort[hostPort.index(after: colon)...]
                guard let n = Int(p), (1...65535).contains(n) else { throw bad("port must be 1–65535, found \(p)") }
                port = n
            } else {
                host = hostPort
            }
            guard !host.isEmpty else { throw bad("no host") }
            endpoint = .tcp(host: String(host), port: port)
        }
        self.init(endpoint: endpoint, username: username, password: password, database: database)
    }

    private static func decode(_ s: String, _ bad: (String) -> SharedQuotaError) throws(SharedQuotaError) -> String {
        guard let d = s.removingPercentEncoding else { throw bad("bad percent-encoding in the user or password") }
        return d
    }

    /// The URL with the password shown as `***`; what every message prints.
    public var redacted: String {
        var auth = ""
        if let u = username { auth = Self.encode(u) + ":***@" } else if password != nil { auth = ":***@" }
        switch endpoint {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis://\(auth)\(h):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(auth)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    private static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? "?"
    }

    public var description: String { redacted }
    public var debugDescription: String { redacted }
    public var customMirror: Mirror { Mirror(self, children: ["url": redacted]) }

    /// `text` with the password of every `scheme://user:password@` or `scheme://password@`
    /// replaced by `***`. For strings that may hold a URL that did not parse (an error quoting
    /// the command line, a log line).
    public static func redact(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            out += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            // The authority ends at the first '/', '?', '#' or whitespace; userinfo at its last '@'.
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " || $0 == "\n"
                || $0 == "\t" || $0 == "\"" || $0 == "'" }) ?? rest.endIndex
            if let at = rest[..<end].lastIndex(of: "@") {
                let info = rest[..<at]
                if let colon = info.firstIndex(of: ":") {
                    out += info[...colon] + "***"
                } else {
                    out += "***"
                }
                rest = rest[at...]
            }
        }
        return out + rest
    }
}
