import Foundation
import LimitlabCore
import LimitlabTestSupport
import LimitlabLive
import LimitlabMock
import LimitlabSim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A runner for `scenario` against fresh in-process mocks, wired as `run --target mock` wires it
/// (Sources/limitlab/LiveTargets.swift): `MockFleet(scenario:)`, i.e. `MockConfig(scenario:)`
/// and its keys, plus `faults`. Stop the fleet after the run.
func mockRunner(_ scenario: Scenario, faults: MockFaults? = nil,
                options: LiveOptions = LiveOptions(requestTimeout: 20, gracePeriod: 5)) -> (LiveRunner, MockFleet) {
    // Faults come from the scenario's server model unless a test overrides them here.
    let fleet = MockFleet(scenario: scenario) { if let faults { $0.faults = faults } }
    let keys = fleet.keys.map(LiveAPIKey.init)
    var o = options
    o.prepareRun = { _, _ in LiveTarget(baseURL: try fleet.next(), apiKeys: keys) }
    let runner = LiveRunner(scenario: scenario, target: LiveTarget(baseURL: "http://127.0.0.1:1", apiKeys: keys), options: o)
    return (runner, fleet)
}

/// Runs `scenario` live against fresh mocks built from it (`mockRunner`).
func runAgainstMock(_ scenario: Scenario, faults: MockFaults? = nil,
                    options: LiveOptions = LiveOptions(requestTimeout: 20, gracePeriod: 5)) async throws -> LiveResult {
    let (runner, fleet) = mockRunner(scenario, faults: faults, options: options)
    do {
        let result = try await runner.run()
        await fleet.stop()
        return result
    } catch {
        await fleet.stop()
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
