import Foundation
import LimitlabCore
import LimitlabRedis
import Testing

@Suite struct URLTests {
    static let secret = "hun" + "ter2"

    @Test func parsesTheForms() throws {
        let a = try RedisURL(parsing: "redis://127.0.0.1")
        #expect(a.endpoint == .tcp(host: "127.0.0.1", port: 6379) && a.database == 0 && !a.hasPassword)
        let b = try RedisURL(parsing: "redis://:\(Self.secret)@cache.internal:6380/4")
        #expect(b.endpoint == .tcp(host: "cache.internal", port: 6380) && b.database == 4 && b.hasPassword)
        #expect(b.username == nil)
        let c = try RedisURL(parsing: "redis://worker:p%40ss@[::1]:7000")
        #expect(c.endpoint == .tcp(host: "::1", port: 7000) && c.username == "worker")
        #expect(c.redacted == "redis://worker:***@[::1]:7000/0")
        let d = try RedisURL(parsing: "unix:///run/redis/redis.sock?db=2")
        #expect(d.endpoint == .unix(path: "/run/redis/redis.sock") && d.database == 2)
        let e = try RedisURL(parsing: "redis://localhost:6379/")
        #expect(e.database == 0)
    }

    @Test(arguments: [
        ("http://127.0.0.1:6379", "unknown scheme"),
        ("127.0.0.1:6379", "no scheme"),
        ("redis://", "no host"),
        ("redis://:\(secret)@host:99999", "port must be"),
        ("redis://:\(secret)@host:6379/abc", "database number"),
        ("rediss://:\(secret)@host:6379", "TLS"),
        ("unix://relative.sock", "absolute path"),
        ("redis://h/?db=-1", "db must be"),
    ])
    func badURLsSayWhatIsWrong(url: String, expected: String) {
        do {
            _ = try RedisURL(parsing: url)
            Issue.record("\(url) parsed")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("expected redis://"), "\(error.message)")
            #expect(!error.message.contains(Self.secret), "\(error.message)")
        }
    }

    /// The password shows nowhere: description, debug description, reflection, interpolation
    /// of the store, free-text redaction.
    @Test func passwordIsRedactedEverywhere() throws {
        let url = try RedisURL(parsing: "redis://admin:\(Self.secret)@10.0.0.5:6379/1")
        let store = RedisQuotaStore(url: url)
        var dumped = ""
        dump(url, to: &dumped)
        dump(store, to: &dumped)
        for text in [url.description, url.debugDescription, String(reflecting: url), "\(url)", "\(store.url)",
                     dumped, String(describing: Mirror(reflecting: url).children.map(\.value))] {
            #expect(!text.contains(Self.secret), "leaked in: \(text)")
        }
        #expect(url.redacted == "redis://admin:***@10.0.0.5:6379/1")
        #expect(RedisURL.redact("failed: redis://:\(Self.secret)@h:1/0 and redis://u:\(Self.secret)@h and x")
                == "failed: redis://:***@h:1/0 and redis://u:***@h and x")
        #expect(RedisURL.redact("--redis redis://\(Self.secret)@host") == "--redis redis://***@host")
        #expect(RedisURL.redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0")
    }
}
