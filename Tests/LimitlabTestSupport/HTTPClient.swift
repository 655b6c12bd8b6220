internal import CCurl
import Dispatch
import Foundation
public import Testing

/// One HTTP exchange as libcurl saw it.
public struct Reply {
    public var status: Int
    /// Header names lower-cased, in arrival order.
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var curlCode: Int
    /// Seconds from the start of the transfer to each body chunk.
    public var chunkTimes: [Double]

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    public func headers(prefix: String) -> [(String, String)] { headers.filter { $0.0.hasPrefix(prefix) } }

    /// The body as a JSON object.
    public func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let v = try JSONSerialization.jsonObject(with: Data(body))
        return try #require(v as? [String: Any], "body is not a JSON object: \(text)", sourceLocation: sourceLocation)
    }

    /// Server-sent events: (event name, data JSON object).
    public func events() throws -> [(String, [String: Any])] {
        var out: [(String, [String: Any])] = []
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
            var name = ""
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            let obj = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] ?? [:]
            out.append((name, obj))
        }
        return out
    }
}

private let curlReady: Bool = {
    curl_global_init(Int(CURL_GLOBAL_ALL))
    return true
}()

/// Collects a transfer's headers, body chunks and their times (owned by one transfer).
private final class Sink {
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    var times: [Double] = []
    let start = DispatchTime.now()
}

/// A blocking libcurl request, run on a Dispatch thread so that the test's cooperative
/// threads stay free.
public func http(_ url: String, method: String = "POST", headers: [String] = [], body: String? = nil,
          timeout: Int = 20) async -> Reply {
    await withCheckedContinuation { (k: CheckedContinuation<Reply, Never>) in
        DispatchQueue.global().async {
            k.resume(returning: performRequest(method, url, headers: headers, body: body, timeout: timeout))
        }
    }
}

private func performRequest(_ method: String, _ url: String, headers: [String], body: String?, timeout: Int) -> Reply {
    _ = curlReady
    guard let h = curl_easy_init() else { return Reply(status: 0, headers: [], body: [], curlCode: -1, chunkTimes: []) }
    defer { curl_easy_cleanup(h) }
    let sink = Sink()
    let ptr = Unmanaged.passUnretained(sink).toOpaque()
    _ = limitlab_curl_easy_setopt_string(h, CURLOPT_URL, url)
    _ = limitlab_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    _ = limitlab_curl_easy_setopt_long(h, CURLOPT_TIMEOUT, timeout)
    _ = limitlab_curl_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
    if let body {
        _ = limitlab_curl_easy_setopt_long(h, CURLOPT_POSTFIELDSIZE, body.utf8.count)
        _ = limitlab_curl_easy_setopt_string(h, CURLOPT_COPYPOSTFIELDS, body)
    }
    var list: UnsafeMutablePointer<curl_slist>?
    for line in headers + ["Expect:"] { list = curl_slist_append(list, line) }
    defer { curl_slist_free_all(list) }
    _ = limitlab_curl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
    _ = limitlab_curl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, ptr)
    _ = limitlab_curl_easy_setopt_data_callback(h, CURLOPT_WRITEFUNCTION) { p, size, n, user in
        guard let p, let user else { return 0 }
        let s = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
        s.body.append(contentsOf: UnsafeRawBufferPointer(start: p, count: size * n))
        s.times.append(Double(DispatchTime.now().uptimeNanoseconds - s.start.uptimeNanoseconds) / 1e9)
        return size * n
    }
    _ = limitlab_curl_easy_setopt_pointer(h, CURLOPT_HEADERDATA, ptr)
    _ = limitlab_curl_easy_setopt_data_callback(h, CURLOPT_HEADERFUNCTION) { p, size, n, user in
        guard let p, let user else { return 0 }
        let s = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
        let line = String(decoding: UnsafeRawBufferPointer(start: p, count: size * n), as: UTF8.self)
        if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            s.headers.append((name, value))
        }
        return size * n
    }
    let code = curl_easy_perform(h)
    var status = 0
    _ = limitlab_curl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
    return Reply(status: status, headers: sink.headers, body: sink.body, curlCode: Int(code.rawValue),
                 chunkTimes: sink.times)
}

/// The headers of a well-formed Messages call.
public func apiHeaders(key: String = "sk-test", extra: [String] = []) -> [String] {
    ["x-api-key: \(key)", "anthropic-version: 2023-06-01", "content-type: application/json"] + extra
}

/// A Messages body with one user message of `text`.
public func messageBody(model: String = "claude-sonnet-4-5", maxTokens: Int = 256, text: String = "Hello", stream: Bool = false,
                 system: String? = nil) -> String {
    var s = #"{"model":"\#(model)","max_tokens":\#(maxTokens),"#
    if stream { s += #""stream":true,"# }
    if let system { s += #""system":\#(system),"# }
    return s + #""messages":[{"role":"user","content":"\#(text)"}]}"#
}
