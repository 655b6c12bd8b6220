import Foundation
public import LimitlabCore

/// In-process mocks for a live run with `target: mock`: a fresh server on a free loopback port
/// for every strategy run (as the simulator gives every run full buckets), the previous one
/// stopped when the next starts. `run --target mock` and the tests build theirs with
/// `init(scenario:)`, so both run the same configuration.
public final class MockFleet: @unchecked Sendable {
    /// What every server of the fleet runs.
    public let config: MockConfig
    /// The API keys clients send, key `i` owning organisation `i`.
    public let keys: [String]
    private let lock = NSLock()
    private var current: MockServer?

    public init(config: MockConfig, keys: [String]) {
        self.config = config
        self.keys = keys
    }

    /// The fleet for a scenario run with `target: mock`: `MockConfig(scenario:)` and its keys
    /// (`MockConfig.scenarioKey(i)` for each of the scenario's API keys). `adjust` changes the
    /// config before any server starts (tests add `faults`).
    public convenience init(scenario: Scenario, catalog: TierCatalog = .builtIn,
                            adjust: (inout MockConfig) -> Void = { _ in }) {
        var config = MockConfig(scenario: scenario, catalog: catalog)
        adjust(&config)
        self.init(config: config, keys: scenario.limits.keyConfigs.indices.map(MockConfig.scenarioKey))
    }

    /// Starts a fresh server, stops the previous one, and returns the new one's base URL
    /// (`http://127.0.0.1:PORT`).
    public func next() throws(MockError) -> String {
        let server = MockServer(config: config, threads: 1)
        let port = try server.startBlocking(host: "127.0.0.1", port: 0)
        let old = lock.withLock { () -> MockServer? in
            let o = current
            current = server
            return o
        }
        old?.stopBlocking()
        return "http://127.0.0.1:\(port)"
    }

    /// Stops the running server, if any (synchronous callers: the CLI).
    public func stopAll() {
        takeCurrent()?.stopBlocking()
    }

    /// Stops the running server, if any.
    public func stop() async {
        await takeCurrent()?.stop()
    }

    private func takeCurrent() -> MockServer? {
        lock.withLock {
            let c = current
            current = nil
            return c
        }
    }
}
