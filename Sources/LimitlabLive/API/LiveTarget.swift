public import LimitlabCore
import Foundation
import LimitlabStats
internal import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An API key that never prints: its description, debug description and mirror are
/// `<redacted>`, so a key inside a target, an error or a dump cannot leak into output.
/// The runner hands the value to libcurl as the `x-api-key` header and nowhere else.
public struct LiveAPIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let secret: String

    public init(_ value: String) { secret = value }

    /// The key in environment variable `name` (default `ANTHROPIC_API_KEY`). The error names
    /// the variable, never a value.
    public static func fromEnvironment(_ name: String = "ANTHROPIC_API_KEY") throws(LiveError) -> LiveAPIKey {
        guard let raw = getenv(name) else {
            throw LiveError(.apiKey, "environment variable \(name) is not set; export the API key in it")
        }
        let value = String(cString: raw).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw LiveError(.apiKey, "environment variable \(name) is empty") }
        return LiveAPIKey(value)
    }

    /// `text` with every occurrence of these keys, and anything shaped like an Anthropic key
    /// (`sk-ant-` and what follows), replaced by `<redacted>`: for what a server echoes back
    /// into error causes, warnings and failures before they are reported.
    public static func redact(_ text: String, keys: [LiveAPIKey]) -> String {
        var out = text
        for k in keys where k.secret.utf8.count >= 8 && out.contains(k.secret) {
            out = out.replacingOccurrences(of: k.secret, with: "<redacted>")
        }
        while let r = out.range(of: "sk-ant-") {
            let end = out[r.upperBound...].firstIndex { c in !(c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")) }
                ?? out.endIndex
            out.replaceSubrange(r.lowerBound..<end, with: "<redacted>")
        }
        return out
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Where live requests go.
public struct LiveTarget: Sendable, CustomStringConvertible {
    /// Scheme, host and optional port (and path prefix): `http://127.0.0.1:8080`,
    /// `https://api.anthropic.com`. Requests go to `<baseURL>/v1/messages`.
    public var baseURL: String
    /// One key per scenario key (`limits.keys`), in order; a request uses the key its
    /// strategy picks. Empty is allowed for loopback targets: key i is then
    /// `placeholderKey(i)`, so a mock can give each its own organisation.
    public var apiKeys: [LiveAPIKey]
    /// Model id to request; nil: the scenario's model.
    public var model: String?
    public var anthropicVersion: String
    /// Send `x-limitlab-output-tokens: N` so the mock generates the workload's output length.
    /// Other servers ignore the header; nil means "only for loopback targets".
    public var outputTokensHint: Bool?

    public init(baseURL: String, apiKey: LiveAPIKey? = nil, model: String? = nil,
                anthropicVersion: String = "2023-06-01", outputTokensHint: Bool? = nil) {
        self.baseURL = baseURL
        self.apiKeys = apiKey.map { [$0] } ?? []
        self.model = model
        self.anthropicVersion = anthropicVersion
        self.outputTokensHint = outputTokensHint
    }

    public init(baseURL: String, apiKeys: [LiveAPIKey], model: String? = nil,
                anthropicVersion: String = "2023-06-01", outputTokensHint: Bool? = nil) {
        self.init(baseURL: baseURL, apiKey: nil, model: model, anthropicVersion: anthropicVersion,
                  outputTokensHint: outputTokensHint)
        self.apiKeys = apiKeys
    }

    /// The key sent as scenario key `index` to a loopback target given no keys.
    public static func placeholderKey(_ index: Int) -> String { "limitlab-key-\(index)" }

    /// The messages endpoint.
    public var messagesURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/messages"
    }

    /// The host libcurl will connect to (lowercased, brackets of an IPv6 literal removed), or nil
    /// when `baseURL` is not a plain `http(s)://host[:port][/path]` base URL.
    ///
    /// The URL is parsed once with a real parser (Foundation's `URLComponents`, RFC 3986), and
    /// libcurl's own parser (`curl_url`, the one the transfer uses) must find the same host; a
    /// disagreement is refused. User info, a query or a fragment have no place in a base URL and
    /// are how a loopback-looking name hides in front of another host
    /// (`http://203.0.113.10/#@127.0.0.1`, `?x=@localhost`), so they are refused too, as are
    /// whitespace, control characters, backslashes, non-ASCII and percent-escapes in the host, which
    /// parsers read differently.
    public var host: String? { Self.connectHost(baseURL) }

    static func connectHost(_ url: String) -> String? {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f || $0 == "\\" }),
              let c = URLComponents(string: url),
              let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              c.percentEncodedUser == nil, c.percentEncodedPassword == nil,
              c.percentEncodedQuery == nil, c.percentEncodedFragment == nil,
              let raw = c.percentEncodedHost, !raw.isEmpty, !raw.contains("%")
        else { return nil }
        let h = Self.unbracketed(raw).lowercased()
        guard !h.isEmpty, let curlHost = CurlURL.host(of: url), Self.unbracketed(curlHost).lowercased() == h else {
            return nil
        }
        return h
    }

    private static func unbracketed(_ h: String) -> String {
        h.hasPrefix("[") && h.hasSuffix("]") ? String(h.dropFirst().dropLast()) : h
    }

    /// Whether every request stays on this machine (127.0.0.0/8 in dotted-decimal form, ::1,
    /// localhost), judged on `host`. Only loopback targets may run without a spending cap; any
    /// other spelling (`127.1`, `2130706433`, `::ffff:127.0.0.1`) is treated as remote, the safe side.
    public var isLoopback: Bool {
        guard let h = host else { return false }
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && UInt8(p) != nil }
    }

    /// The base URL and key count; never a key.
    public var description: String {
        "\(baseURL) (\(apiKeys.count) API key\(apiKeys.count == 1 ? "" : "s"), model \(model ?? "from scenario"))"
    }
}

/// libcurl's URL parser (`curl_url`, libcurl ≥ 7.62), so that the host the loopback guard judges is
/// the host the transfer connects to.
enum CurlURL {
    /// The host part as libcurl parses `url`, or nil when libcurl refuses the URL.
    static func host(of url: String) -> String? {
        guard let h = curl_url() else { return nil }
        defer { curl_url_cleanup(h) }
        guard curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        var part: UnsafeMutablePointer<CChar>?
        guard curl_url_get(h, CURLUPART_HOST, &part, 0) == CURLUE_OK, let part else { return nil }
        defer { curl_free(part) }
        return String(cString: part)
    }
}
