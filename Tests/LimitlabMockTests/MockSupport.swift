import Foundation
import LimitlabMock
import LimitlabTestSupport
import Testing

/// Fast latency so tests finish quickly: no TTFT, 1,000 tokens/s, immediate rejections.
let fastServer = serverBlock()

/// A `server:` block with no TTFT, immediate rejections and `outputRate`.
func serverBlock(outputRate: String = "1000/s") -> String {
    """
    server:
      ttft: 0ms
      output_rate: \(outputRate)
      reject_latency: 0ms
    """
}

/// Runs `body` against a server started from `yaml` on a free loopback port, and stops it.
func withServer(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation,
                _ body: (_ base: String) async throws -> Void) async throws {
    let config: MockConfig
    do {
        config = try MockConfig.parse(yaml: yaml, file: "test.yaml")
    } catch {
        Issue.record("config did not parse:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
    let server = MockServer(config: config, threads: 1)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    do {
        try await body("http://127.0.0.1:\(port)")
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// A config with one organisation owning `key`, with the given limits lines.
func orgConfig(key: String = "sk-test", limits: String = "tier: tier-4", outputRate: String = "1000/s",
               extra: String = "") -> String {
    """
    orgs:
      - id: org-test
        keys: [\(key)]
        limits: {\(limits)}
    \(serverBlock(outputRate: outputRate))
    \(extra)
    """
}
