import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabSim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A scenario built in code: generous limits and fast constant latency unless told otherwise.
func liveScenario(arrivals: [ArrivalSpec], length: RunLength = .duration(5), seed: UInt64 = 7,
                  limits: LimitConfig = LimitConfig(rpm: 1e6, itpm: 1e9, otpm: 1e9),
                  input: Sampled = Sampled(.constant(200)), output: Sampled = Sampled(.constant(20)),
                  maxTokens: Int = 256, cache: CacheSpec? = nil, stream: Bool = true,
                  server: ServerModel = ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 2000,
                                                    rejectLatency: 0.02),
                  strategies: [String] = ["none"]) -> Scenario {
    Scenario(name: "live-test", seed: seed, target: .mock, length: length, model: "claude-sonnet-4-5",
             limits: LimitsSpec(config: limits), server: server, arrivals: arrivals,
             workload: WorkloadSpec(inputTokens: input, outputTokens: output, maxTokens: maxTokens, cache: cache,
                                    stream: stream),
             strategies: strategies.map { StrategySpec(name: $0) })
}

/// The mock configuration that plays a scenario's server: one organisation per scenario key
/// (key i is `LiveTarget.placeholderKey(i)`, what the runner sends to a loopback target given no
/// keys) with that key's limits for every model, the scenario's latency and 529 model, its
/// seed (so latency draws follow the simulator's stream) and its cache TTL; plus faults.
func mockConfig(for s: Scenario, faults: MockFaults = MockFaults()) -> MockConfig {
    let orgs = s.limits.keyConfigs.enumerated().map { i, c in
        MockOrganization(
            id: MockOrganization.defaultId(index: i), keys: [LiveTarget.placeholderKey(i)],
            limits: MockLimits(rpm: c.rpm, itpm: c.itpm, otpm: c.otpm, burst: c.burst, admission: c.admission,
                               outputAccounting: c.outputAccounting, cacheReadsCount: c.cacheReadsCount))
    }
    var cache = MockCacheSettings()
    if let w = s.workload.cache {
        if w.ttl >= 3600 { cache.ttl1h = w.ttl } else { cache.ttl5m = w.ttl }
        cache.minCacheableTokens = w.minCacheableTokens
    }
    return MockConfig(organizations: orgs, server: s.server, faults: faults, cache: cache, seed: s.seed)
}

/// Starts a fresh in-process mock for every strategy run (as the simulator gives every run
/// fresh buckets), on a free loopback port, and stops the previous one.
final class MockFleet: @unchecked Sendable {
    private let config: MockConfig
    private let lock = NSLock()
    private var current: MockServer?
    private(set) var ports: [Int] = []

    init(_ config: MockConfig) { self.config = config }

    /// For `LiveOptions.prepareRun`.
    var prepare: @Sendable (Int, StrategySpec) throws -> LiveTarget? {
        { [self] _, _ in
            let server = MockServer(config: config, threads: 1)
            let port = try server.startBlocking(host: "127.0.0.1", port: 0)
            let old = lock.withLock { () -> MockServer? in
                let o = current
                current = server
                ports.append(port)
                return o
            }
            old?.stopBlocking()
            return LiveTarget(baseURL: "http://127.0.0.1:\(port)")
        }
    }

    func shutdown() async {
        let s = lock.withLock { () -> MockServer? in
            let c = current
            current = nil
            return c
        }
        await s?.stop()
    }
}

/// Runs `scenario` live against fresh mocks built from its own server model.
func runAgainstMock(_ scenario: Scenario, faults: MockFaults = MockFaults(),
                    options: LiveOptions = LiveOptions(requestTimeout: 20, gracePeriod: 5)) async throws -> LiveResult {
    let fleet = MockFleet(mockConfig(for: scenario, faults: faults))
    var o = options
    o.prepareRun = fleet.prepare
    let runner = LiveRunner(scenario: scenario, target: LiveTarget(baseURL: "http://127.0.0.1:1"), options: o)
    do {
        let result = try await runner.run()
        await fleet.shutdown()
        return result
    } catch {
        await fleet.shutdown()
        throw error
    }
}

/// A loopback port that refuses connections: a TCP socket bound to it but never listening,
/// kept open so no one else takes the port during the test.
final class ClosedPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { close(fd); throw POSIXError(.EINVAL) }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// Request counts of a run's log.
struct Outcomes: Equatable, CustomStringConvertible {
    var succeeded = 0, failed = 0, dropped = 0, pending = 0

    init(_ log: RunLog, upTo n: Int? = nil) {
        for r in 0..<(n ?? log.requestCount) {
            switch RequestOutcome(rawValue: log.outcome[r]) ?? .pending {
            case .succeeded: succeeded += 1
            case .failed: failed += 1
            case .dropped: dropped += 1
            case .pending: pending += 1
            }
        }
    }

    var description: String { "succeeded \(succeeded), failed \(failed), dropped \(dropped), pending \(pending)" }
}

func count(_ log: RunLog, status: UInt16) -> Int { log.status.filter { $0 == status }.count }

/// Every suite that runs against a server nests here, so they run one at a time: they measure
/// time, and on a 2-core CI machine parallel suites would disturb each other's schedules.
@Suite(.serialized) enum Live {}
