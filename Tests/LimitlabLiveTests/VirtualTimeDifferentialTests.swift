import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabMock
import LimitlabScenario
import LimitlabSim
import LimitlabStats
import LimitlabStrategies
import LimitlabWorkload
import Testing

/// The proof that the simulator and the mock run one server: every attempt the simulator made
/// is replayed, at its exact send time, as the HTTP request the live runner would send, into
/// the mock's handler running in virtual time (`VirtualTimeMock`), and the mock's answer must
/// equal the simulator's — status, refusing dimension, `retry-after`, every rate-limit header,
/// cache usage, and first-token and completion times within 1e-9 s.
///
/// Replaying the simulator's sends (rather than running a second client) is exact: the server's
/// decisions depend only on which attempts reach it and when. No clock is involved, but the
/// suite is CPU-heavy, so it runs in the serialized `Live` group rather than beside the
/// wall-clock tests it would slow down.
extension Live {
    @Suite struct VirtualTimeDifferentialTests {
        static let epoch = 1_767_225_600.0
        static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        @Test func everyShippedScenarioAgreesAttemptByAttempt() throws {
            let dir = Self.repoRoot.appendingPathComponent("scenarios")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
            #expect(names.count >= 6)
            for name in names {
                let scenario = try ScenarioLoader.load(path: dir.appendingPathComponent(name).path)
                let compared = try Self.compare(scenario, label: name)
                #expect(compared > 0, "\(name): no attempt compared")
            }
        }

        @Test func fiftyRandomScenariosAgreeAttemptByAttempt() throws {
            let random = RandomSource(seed: 20261206, stream: "differential")
            var attempts = 0
            var statuses = Set<UInt16>()
            var faults = 0
            for i in 0..<50 {
                let s = Self.randomScenario(i, random)
                attempts += try Self.compare(s, label: "random[\(i)]", statuses: &statuses, faults: &faults)
            }
            // The random scenarios must reach every kind of answer, or the comparison proves little.
            #expect(attempts > 3_000)
            #expect(statuses.isSuperset(of: [0, 200, 429, 500, 529]), "statuses seen: \(statuses.sorted())")
            #expect(faults > 20)
        }

        /// A request past its model's maximum output is refused (400) alike whichever model class
        /// a strategy routes it to: a catalog model with a small maximum, and a model outside the
        /// catalog, which both sides serve with the same lenient limits.
        @Test func requestsPastTheirModelsLimitsAreRefusedAlikeOnEveryRoute() throws {
            func scenario(maxTokens: Int, routedTo extra: String) throws -> Scenario {
                try ScenarioLoader.parse(yaml: """
                    name: caps
                    model: claude-sonnet-4-5          # at most 64,000 output tokens
                    limits: {rpm: 1000, itpm: 10000000, otpm: 10000000}
                    models:
                      - {model: \(extra), limits: {rpm: 1000, itpm: 10000000, otpm: 10000000}}
                    server: {ttft: 10ms, output_rate: 1000/s, reject_latency: 0ms}
                    duration: 1m
                    arrivals: [{process: poisson, rate: 60/min}]
                    workload: {input_tokens: 100, output_tokens: 20, max_tokens: \(maxTokens)}
                    strategies: [{name: none, route: {name: share, params: {share: 0.5}}}]
                    """, file: "caps.yaml", baseDirectory: ".")
            }
            // claude-3-haiku takes at most 4,096: its half is refused, Sonnet's is not.
            // A fine-tune outside the catalog takes up to 128,000: Sonnet's half is refused.
            for (s, refusedClass) in [(try scenario(maxTokens: 8_000, routedTo: "claude-3-haiku"), 1),
                                      (try scenario(maxTokens: 100_000, routedTo: "my-fine-tune"), 0)] {
                #expect(try Self.compare(s, label: "caps \(s.models[0].model)") > 20)
                let made = try StrategyFactory.make(s.strategies[0], limits: s.limits.config, keys: s.limits.keyConfigs,
                                                    seed: s.seed, workers: s.workers, namespace: "caps", models: s.modelIds)
                let (log, _) = Self.simulate(s, ArrivalGenerator.generate(s), made)
                var statusByClass: [Int: Set<UInt16>] = [:]
                for a in 0..<log.attemptCountTotal { statusByClass[log.modelClass(ofAttempt: a), default: []].insert(log.status[a]) }
                #expect(statusByClass[refusedClass] == [400] && statusByClass[1 - refusedClass] == [200],
                        "\(s.models[0].model): \(statusByClass)")
            }
        }

        /// A server constant changed for the mock alone cannot go unnoticed: the same comparison
        /// with the mock's output rate 1 % off, or its reject latency 1 ms off, fails.
        @Test func aMockOnlyChangeIsCaught() throws {
            var s = Self.randomScenario(3, RandomSource(seed: 5, stream: "x"))
            s.strategies = [StrategySpec(name: "sdk-default")]
            var statuses = Set<UInt16>(), faults = 0
            #expect(try Self.compare(s, label: "untouched", statuses: &statuses, faults: &faults,
                                     mockConfig: MockConfig(scenario: s), expectAgreement: false) == 0)
            var faster = MockConfig(scenario: s)
            faster.server.outputTokensPerSecond *= 1.01
            #expect(try Self.compare(s, label: "output rate", statuses: &statuses, faults: &faults,
                                     mockConfig: faster, expectAgreement: false) > 0)
            s.limits.config.rpm = 5 // refusals, so the reject latency shows
            var slower = MockConfig(scenario: s)
            slower.server.rejectLatency += 0.001
            #expect(try Self.compare(s, label: "reject latency", statuses: &statuses, faults: &faults,
                                     mockConfig: slower, expectAgreement: false) > 0)
            #expect(statuses.contains(429))
        }

        // MARK: Comparison

        @discardableResult
        static func compare(_ s: Scenario, label: String) throws -> Int {
            var statuses = Set<UInt16>(), faults = 0
            return try compare(s, label: label, statuses: &statuses, faults: &faults)
        }

        /// Runs every strategy of `s` in the simulator and replays its attempts into a fresh virtual
        /// mock built exactly as `run --target mock` builds it. Returns the attempts compared (or,
        /// with `expectAgreement: false`, the mismatches found).
        static func compare(_ s: Scenario, label: String, statuses: inout Set<UInt16>, faults: inout Int,
                            mockConfig: MockConfig? = nil, expectAgreement: Bool = true) throws -> Int {
            let stream = ArrivalGenerator.generate(s)
            var compared = 0
            var mismatches = 0
            for spec in s.strategies {
                let made = try StrategyFactory.make(spec, limits: s.limits.config, keys: s.limits.keyConfigs, seed: s.seed,
                                                    workers: s.workers, namespace: "differential:\(label):\(spec.label)",
                                                    models: s.modelIds)
                let (log, snapshots) = simulate(s, stream, made)
                let mock = VirtualTimeMock(config: mockConfig ?? MockConfig(scenario: s), epoch: epoch)
                // One body builder per model class (`models:`), as the live runner has.
                let builders = s.modelIds.map {
                    RequestBodyBuilder(model: $0, stream: s.workload.stream,
                                       longCacheTTL: (s.workload.cache?.ttl ?? 300) >= 3600, nonce: 0)
                }
                var body: [UInt8] = []
                var end = 0.0
                // Message Batch attempts are not Messages requests; BatchDifferentialTests
                // compares them.
                var exchangeOf: [Int: Int] = [:]
                for a in 0..<log.attemptCountTotal where !log.isBatch(attempt: a) {
                    let r = Int(log.attemptRequest[a])
                    builders[log.modelClass(ofAttempt: a)].write(
                                  input: Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: a), prefix: Int(stream.prefixTokens[r]),
                                  prefixId: Int(stream.prefixId[r]), maxTokens: Int(stream.maxTokens[r]), into: &body)
                    let i = mock.send(at: log.sentAt[a], headers: [
                        ("x-api-key", MockConfig.scenarioKey(Int(log.key[a]))), ("anthropic-version", "2023-06-01"),
                        ("content-type", "application/json"), ("x-limitlab-output-tokens", String(stream.outputTokens[r])),
                    ], body: body)
                    #expect(i == exchangeOf.count)
                    exchangeOf[a] = i
                    end = Swift.max(end, log.completedAt[a])
                }
                mock.advance(to: end + 1)

                for a in 0..<log.attemptCountTotal {
                    guard let i = exchangeOf[a] else { continue }
                    let r = Int(log.attemptRequest[a])
                    let e = mock.exchange(i)
                    let problems = differences(log: log, attempt: a, exchange: e,
                                               snapshot: snapshots[AttemptKey(request: r, attempt: Int(log.attemptNumber[a]))])
                    statuses.insert(log.status[a])
                    if ErrorKind(rawValue: log.errorKind[a]) != ErrorKind.none && log.status[a] == 200 || log.status[a] == 0 {
                        faults += 1
                    }
                    if !problems.isEmpty {
                        mismatches += 1
                        if expectAgreement && mismatches <= 5 {
                            let what = problems.joined(separator: "; ")
                            Issue.record(Comment(rawValue: "\(label) \(spec.label) attempt \(a) (request \(r), sent at \(log.sentAt[a])): \(what)"))
                        }
                    }
                    compared += 1
                }
            }
            if expectAgreement { #expect(mismatches == 0, "\(label): \(mismatches) of \(compared) attempts differ") }
            return expectAgreement ? compared : mismatches
        }

        /// What differs between the simulator's attempt and the mock's exchange.
        static func differences(log: RunLog, attempt a: Int, exchange e: VirtualExchange, snapshot: RateLimitSnapshot?) -> [String] {
            var out: [String] = []
            func close(_ x: Double, _ y: Double?) -> Bool { y.map { abs(x - $0) <= 1e-9 } ?? false }
            let status = log.status[a]
            let kind = ErrorKind(rawValue: log.errorKind[a]) ?? .none
            let mockStatus = UInt16(e.status ?? 0)
            if mockStatus != status { out.append("status sim \(status), mock \(mockStatus)") }
            let text = String(decoding: e.body, as: UTF8.self)

            // When the response was over: its end, or the close of a reset connection.
            let over = status == 0 ? e.closedAt : e.endAt
            if !close(log.completedAt[a], over) { out.append("completion sim \(log.completedAt[a]), mock \(over.map { "\($0)" } ?? "none")") }

            switch status {
            case 429:
                let ra = log.retryAfter[a]
                let sent = e.header("retry-after").flatMap(Float.init)
                if !(ra.isNaN ? sent == nil || text.contains("enforced_spend_limit") : sent == ra) {
                    out.append("retry-after sim \(ra), mock \(e.header("retry-after") ?? "none")")
                }
                // The message names the first refusing limit, as the real API does.
                let named = LiveDriver.refusedDimensions(message: text)
                let refused = LimitDimensions(rawValue: log.refusedBy[a])
                let first: LimitDimensions = refused.contains(.requests) ? .requests
                    : refused.contains(.inputTokens) ? .inputTokens : refused.contains(.outputTokens) ? .outputTokens : []
                if named != first { out.append("refusing dimension sim \(refused.label), mock message names \(named.label)") }
            case 200:
                if kind == .none && !text.contains("\"stop_reason\"") { out.append("success without a stop reason") }
                if kind != .none && !text.contains("event: error") { out.append("sim broke the stream, mock did not") }
                do {
                    let creation = Self.firstInt(after: "\"cache_creation_input_tokens\":", in: text)
                    let read = Self.firstInt(after: "\"cache_read_input_tokens\":", in: text)
                    if creation != Int(log.cacheCreationTokens[a]) || read != Int(log.cacheReadTokens[a]) {
                        out.append("cache sim write \(log.cacheCreationTokens[a]) read \(log.cacheReadTokens[a]), mock write "
                                   + "\(creation.map(String.init) ?? "?") read \(read.map(String.init) ?? "?")")
                    }
                }
                // A stream's first token goes out with its first text delta.
                if let delta = e.chunks.first(where: { String(decoding: $0.bytes, as: UTF8.self).contains("content_block_delta") }) {
                    if !close(log.firstTokenAt[a], delta.time) { out.append("first token sim \(log.firstTokenAt[a]), mock \(delta.time)") }
                }
            default:
                break
            }
            if let snapshot, status != 0 {
                for (name, value) in snapshot.headers(epoch: epoch) where e.header(name) != value {
                    out.append("\(name) sim \(value), mock \(e.header(name) ?? "none")")
                }
            }
            return out
        }

        static func firstInt(after key: String, in text: String) -> Int? {
            guard let r = text.range(of: key) else { return nil }
            return Int(text[r.upperBound...].prefix { $0.isNumber })
        }

        // MARK: Simulator side

        struct AttemptKey: Hashable { var request: Int; var attempt: Int }

        /// Runs one strategy in the simulator, recording the rate-limit headers each attempt got.
        static func simulate(_ s: Scenario, _ stream: ArrivalStream, _ strategy: any ClientStrategy)
            -> (RunLog, [AttemptKey: RateLimitSnapshot]) {
            var recording = HeaderRecording(inner: strategy)
            let log = SimDriver.run(scenario: s, stream: stream, strategy: &recording)
            return (log, recording.snapshots)
        }

        /// Forwards to a strategy and keeps the rate-limit headers of every attempt. It asks for
        /// headers whatever the strategy reads, as the mock always sends them.
        struct HeaderRecording: StrategyWrapper {
            var inner: any ClientStrategy
            var snapshots: [AttemptKey: RateLimitSnapshot] = [:]
            mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
                if let snap = outcome.rateLimits { snapshots[AttemptKey(request: Int(request.id), attempt: attempt)] = snap }
                var o = outcome
                if !inner.readsRateLimitHeaders { o.rateLimits = nil }
                inner.finished(request, attempt: attempt, outcome: o, now: now)
            }
            var readsRateLimitHeaders: Bool { true }
        }

        // MARK: Random scenarios

        /// A small scenario that pushes against its limits, with every server feature drawn at
        /// random: admission and output accounting, burst, prompt cache, prefill, 529s, faults,
        /// stall windows, one or two API keys, streaming or not.
        static func randomScenario(_ i: Int, _ g: RandomSource) -> Scenario {
            func pick<T>(_ xs: [T]) -> T { xs[g.uniformInt(xs.count)] }
            func u(_ a: Double, _ b: Double) -> Double { a + (b - a) * g.uniform() }
            let rpm = u(10, 120).rounded()
            let limits = LimitConfig(rpm: rpm, itpm: u(5_000, 60_000).rounded(), otpm: u(1_000, 12_000).rounded(),
                                     burst: pick([1, 0.5, 1.0 / 60, 0.1]), admission: pick([.positiveBalance, .fullCost]),
                                     outputAccounting: pick([.realtime, .reserve]), cacheReadsCount: g.uniform() < 0.5)
            let rate = rpm / 60 * u(0.6, 2.5)
            var arrivals = [ArrivalSpec(pick([.poisson(rate: rate), .gamma(rate: rate, shape: u(0.3, 2)),
                                              .constant(rate: rate)]))]
            if g.uniform() < 0.4 { arrivals.append(ArrivalSpec(.burst(at: u(5, 40), count: 5 + g.uniformInt(30), over: u(0, 3)))) }
            let cache: CacheSpec? = g.uniform() < 0.5
                ? CacheSpec(share: u(0.3, 0.9), ttl: pick([5, 20, 300, 3600]), prefixes: 1 + g.uniformInt(4),
                            minCacheableTokens: 64)
                : nil
            var faults = ServerFaults()
            if g.uniform() < 0.6 {
                faults = ServerFaults(serverError: u(0, 0.08), streamError: u(0, 0.1), connectionReset: u(0, 0.05),
                                      stall: u(0, 0.05), stallDuration: u(0.5, 5))
            }
            var stalls: [StallWindow] = []
            if g.uniform() < 0.3 { stalls = [StallWindow(start: u(5, 20), duration: u(1, 8)), StallWindow(start: u(30, 40), duration: u(1, 3))] }
            let server = ServerModel(
                ttft: pick([Sampled(.lognormal(mu: log(0.4), sigma: 0.5)), Sampled(.constant(0.25)),
                            Sampled(.uniform(min: 0.05, max: 1.5))]),
                outputTokensPerSecond: pick([40, 80, 400]), prefillTokensPerSecond: g.uniform() < 0.3 ? 20_000 : nil,
                rejectLatency: pick([0.05, 0.02, 0.1]),
                overload: g.uniform() < 0.4 ? OverloadModel(probability: u(0, 0.05), riseFrom: 2, riseTo: 12, maxProbability: 0.5)
                    : OverloadModel(),
                faults: faults, stalls: stalls)
            let keys: [LimitConfig] = g.uniform() < 0.2 ? [limits, limits] : []
            var strategies = [StrategySpec(name: "none"), StrategySpec(name: pick(["sdk-default", "header-paced", "token-bucket",
                                                                                  "gcra", "immediate-retry", "aimd-rate"]))]
            if !keys.isEmpty { strategies = [StrategySpec(name: "sdk-default", pool: .roundRobin)] }
            return Scenario(name: "differential-\(i)", seed: UInt64(100 + i), target: .sim, length: .duration(u(30, 60)),
                            model: "claude-sonnet-4-5", limits: LimitsSpec(config: limits, keys: keys), server: server,
                            arrivals: arrivals,
                            workload: WorkloadSpec(inputTokens: Sampled(.uniform(min: 100, max: 3000)),
                                                   outputTokens: Sampled(.uniform(min: 1, max: 300)),
                                                   maxTokens: pick([256, 150]), cache: cache, stream: g.uniform() < 0.75),
                            strategies: strategies)
        }
    }
}
