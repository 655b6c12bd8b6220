internal import CHiredis
import Foundation

/// A Redis reply, copied out of hiredis's reply object (which is freed at once).
enum RedisValue: Equatable {
    case string(String)
    case status(String)
    case integer(Int64)
    case array([RedisValue])
    case null
    case error(String)
}

/// Why a command got no reply. `io` leaves the connection unusable; the caller drops it.
enum RedisFailure: Error {
    case connect(String)
    case io(String)
}

/// One blocking hiredis connection. Owns the `redisContext` and frees it in `deinit`; every C
/// handle stays inside this type. Not thread-safe: `RedisQuotaStore` serialises access.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects with `connectTimeout` and sets `commandTimeout` on the socket.
    init(_ url: RedisURL, connectTimeout: Double, commandTimeout: Double) throws(RedisFailure) {
        let connectMicros = Self.micros(connectTimeout)
        let c: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case .tcp(let host, let port): c = limitlab_redis_connect_tcp(host, Int32(port), connectMicros)
        case .unix(let path): c = limitlab_redis_connect_unix(path, connectMicros)
        }
        guard let c else { throw .connect("out of memory") }
        if limitlab_redis_err(c) != 0 {
            let why = String(cString: limitlab_redis_errstr(c))
            redisFree(c)
            throw .connect(why)
        }
        if limitlab_redis_set_timeout(c, Self.micros(commandTimeout)) != 0 {
            let why = String(cString: limitlab_redis_errstr(c))
            redisFree(c)
            throw .connect("cannot set the command timeout: \(why)")
        }
        context = c
    }

    deinit { redisFree(context) }

    private static func micros(_ seconds: Double) -> Int {
        Int((Swift.max(0.001, Swift.min(seconds, 3600)) * 1_000_000).rounded())
    }

    /// Sends one command (binary-safe arguments) and reads its reply. A Redis error reply is a
    /// value (`.error`); a transport failure (closed, reset, timeout) throws `.io`.
    func command(_ args: [String]) throws(RedisFailure) -> RedisValue {
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        for a in args {
            offsets.append(bytes.count)
            let utf8 = a.utf8
            lengths.append(utf8.count)
            bytes.append(contentsOf: utf8)
            bytes.append(0)
        }
        let reply: UnsafeMutablePointer<redisReply>? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { base in
                var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
                return argv.withUnsafeMutableBufferPointer { argvBuffer in
                    lengths.withUnsafeBufferPointer { lens in
                        limitlab_redis_command(context, Int32(args.count), argvBuffer.baseAddress, lens.baseAddress)
                    }
                }
            }
        }
        guard let reply else {
            let code = limitlab_redis_err(context)
            var why = String(cString: limitlab_redis_errstr(context))
            if code == REDIS_ERR_EOF || why.isEmpty { why = "the server closed the connection" }
            throw .io(why)
        }
        defer { freeReplyObject(reply) }
        return Self.value(reply)
    }

    private static func value(_ r: UnsafePointer<redisReply>) -> RedisValue {
        func text() -> String {
            guard let s = limitlab_reply_str(r) else { return "" }
            let n = limitlab_reply_len(r)
            return s.withMemoryRebound(to: UInt8.self, capacity: n) {
                String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
            }
        }
        switch limitlab_reply_type(r) {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(limitlab_reply_integer(r)))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            return .array((0..<limitlab_reply_elements(r)).map { value(limitlab_reply_element(r, $0)) })
        case let other: return .error("unexpected reply type \(other)")
        }
    }
}
