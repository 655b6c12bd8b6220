import Foundation
import LimitlabCore
@testable import LimitlabMock
import Testing

/// RFC 9112 §3.2: an HTTP/1.1 request without Host, or any with two, gets a 400; an
/// organisation id that cannot go into a header is refused when the config is read.
@Suite struct HostAndOrgIdTests {
    @Test func hostIsRequiredOnHTTP11() async throws {
        try await withServer(orgConfig()) { base in
            let port = UInt16(base.split(separator: ":").last!)!
            let noHost = try rawExchange(port: port, bytes: Array("GET /healthz HTTP/1.1\r\n\r\n".utf8))
            #expect(noHost.hasPrefix("HTTP/1.1 400"), "\(noHost.prefix(60))")
            let twoHosts = try rawExchange(port: port, bytes: Array(
                "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".utf8))
            #expect(twoHosts.hasPrefix("HTTP/1.1 400"), "\(twoHosts.prefix(60))")
            let withHost = try rawExchange(port: port, bytes: Array(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(withHost.hasPrefix("HTTP/1.1 200"), "\(withHost.prefix(60))")
            // HTTP/1.0 has no Host requirement.
            let old = try rawExchange(port: port, bytes: Array("GET /healthz HTTP/1.0\r\n\r\n".utf8))
            #expect(old.hasPrefix("HTTP/1.0 200"), "\(old.prefix(60))")
        }
    }

    @Test func orgIdWithControlCharactersIsRefused() {
        for bad in ["\"org\\r\\nx-evil: 1\"", "\"org\\u0000\"", "\"has space\"", "\"\""] {
            let yaml = "orgs:\n  - id: \(bad)\n    keys: [sk-a]\n    limits: {tier: tier-1}\n"
            do {
                _ = try MockConfig.parse(yaml: yaml, file: "mock.yaml")
                Issue.record("accepted org id \(bad)")
            } catch {
                #expect(error.kind == .config)
                #expect(error.message.contains("mock.yaml:2:9: orgs[0].id: expected an organisation id of 1 to 128 visible ASCII"),
                        "\(error.message)")
            }
        }
        #expect((try? MockConfig.parse(yaml: "orgs:\n  - id: org-a_1.x\n    keys: [sk-a]\n    limits: {tier: tier-1}\n",
                                       file: "mock.yaml")) != nil)
    }
}
