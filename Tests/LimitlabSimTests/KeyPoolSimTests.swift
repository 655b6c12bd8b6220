import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabTestSupport
import Testing

@Suite struct KeyPoolSimTests {
    /// Two keys, each its own organisation at 60 RPM enforced per second; 2 requests/s offered.
    /// One key refuses half; a round-robin pool over both refuses none.
    @Test func aPoolSpreadsLoadOverOrganisations() throws {
        let perKey = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60)
        var sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(30), limits: perKey,
                              strategies: [StrategySpec(name: "none", label: "one-key"),
                                           StrategySpec(name: "none", label: "pooled", pool: .roundRobin)])
        sc.limits.keys = [perKey, perKey]
        let r = try Simulator.run(sc)
        let one = Summariser.summarise(log: r.runs[0].log, stream: r.stream, slo: nil)
        let pooled = Summariser.summarise(log: r.runs[1].log, stream: r.stream, slo: nil)
        #expect(one.statusCounts["429"] == 30)
        #expect(pooled.statusCounts["429"] == nil)
        #expect(Set(r.runs[1].log.key) == [0, 1])
        #expect(r.runs[0].log.key.allSatisfy { $0 == 0 })
    }

    @Test func eachKeyGetsItsOwnLimiterCopy() throws {
        // sdk-default per key: retries stay on the request's key.
        let perKey = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60)
        var sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 3))], length: .duration(20), limits: perKey,
                              strategies: [StrategySpec(name: "sdk-default", pool: .leastLoaded)])
        sc.limits.keys = [perKey, perKey]
        let r = try Simulator.run(sc)
        let log = r.runs[0].log
        var keyOfRequest: [Int32: UInt8] = [:]
        for a in 0..<log.attemptCountTotal {
            let req = log.attemptRequest[a]
            if let k = keyOfRequest[req] { #expect(k == log.key[a], "a request's retries use its key") }
            keyOfRequest[req] = log.key[a]
        }
        let s = Summariser.summarise(log: log, stream: r.stream, slo: nil)
        #expect(s.requests.offered == s.requests.succeeded + s.requests.failed + s.requests.dropped)
    }
}
