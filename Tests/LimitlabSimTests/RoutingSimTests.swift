import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats
import LimitlabStrategies
import LimitlabTestSupport
import Testing

/// Model routing (`route:`) and prompt trimming (`trim:`): anchors, the per-model report and
/// the trimming bar.
@Suite struct RoutingSimTests {
    static let haiku = ExtraModel(model: "claude-haiku-4-5", modelClass: "haiku-4.5",
                                  limits: LimitConfig(rpm: 1000, itpm: 450_000, otpm: 90_000))

    static func scenario(_ strategies: [StrategySpec], rate: Double = 2, seconds: Double = 600,
                         input: Sampled = Sampled(.uniform(min: 100, max: 1900)),
                         limits: LimitConfig = LimitConfig(rpm: 1000, itpm: 450_000, otpm: 90_000)) -> Scenario {
        var s = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: rate))], length: .duration(seconds), seed: 7,
                             limits: limits, input: input, output: Sampled(.constant(100)), maxTokens: 512,
                             strategies: strategies)
        s.models = [haiku]
        return s
    }

    static func spec(_ label: String, route: RoleSpec? = nil, trim: RoleSpec? = nil, base: String = "sdk-default") -> StrategySpec {
        var s = StrategySpec(name: base, label: label)
        s.route = route
        s.trim = trim
        return s
    }

    /// Class of each request's first attempt.
    static func firstClass(_ log: RunLog) -> [Int] {
        var out = [Int](repeating: -1, count: log.requestCount)
        for a in 0..<log.attemptCountTotal where log.attemptNumber[a] == 1 {
            out[Int(log.attemptRequest[a])] = log.modelClass(ofAttempt: a)
        }
        return out
    }

    @Test func shareSplitsAsConfiguredWithASeededDraw() throws {
        let sc = Self.scenario([Self.spec("share", route: RoleSpec(name: "share", params: ["share": .number(0.3)]))])
        let result = try Simulator.run(sc)
        let classes = Self.firstClass(result.runs[0].log)
        let n = Double(classes.count)
        let toHaiku = Double(classes.filter { $0 == 1 }.count)
        // Binomial(n, 0.3): within 4 standard deviations.
        let sd = (n * 0.3 * 0.7).squareRoot()
        #expect(n > 1000)
        #expect(abs(toHaiku - 0.3 * n) < 4 * sd, "\(toHaiku) of \(n)")
        #expect(classes.allSatisfy { $0 == 0 || $0 == 1 })
        // A request keeps its model for all its attempts, and the same seed gives the same split.
        let again = Self.firstClass(try Simulator.run(sc).runs[0].log)
        #expect(again == classes)
        let log = result.runs[0].log
        for a in 0..<log.attemptCountTotal {
            #expect(log.modelClass(ofAttempt: a) == classes[Int(log.attemptRequest[a])])
        }
    }

    @Test func sizeRoutesPromptsBelowTheThreshold() throws {
        let sc = Self.scenario([Self.spec("size", route: RoleSpec(name: "size", params: ["below": .number(800)]))])
        let result = try Simulator.run(sc)
        let classes = Self.firstClass(result.runs[0].log)
        var small = 0
        for r in 0..<result.stream.count {
            let prompt = Int(result.stream.inputTokens[r])
            #expect(classes[r] == (prompt < 800 ? 1 : 0), "prompt \(prompt)")
            if prompt < 800 { small += 1 }
        }
        #expect(small > 0 && small < result.stream.count)
    }

    /// Drives the fallback wrapper by hand: only 429/529 move a request on, in list order
    /// (LiteLLM: primary, then each fallback group once), never back; `after` counts them.
    @Test func fallbackMovesOnlyOn429Or529InListOrder() throws {
        let models = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku"]
        var spec = StrategySpec(name: "none", label: "fb", retry: RoleSpec(name: "immediate", params: ["max_attempts": .number(20)]))
        spec.route = RoleSpec(name: "fallback")
        var s = try StrategyFactory.make(spec, seed: 1, models: models)
        let request = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 100, maxTokens: 100))
        var now = 0.0
        var commands: [StrategyCommand] = []
        func sendClass(after status: Int?) -> Int {
            if let status {
                let kind: ErrorKind = status == 429 ? .rateLimited : status == 529 ? .overloaded : .serverError
                s.finished(request, attempt: 1, outcome: AttemptOutcome(status: status, error: kind, sentAt: now, completedAt: now),
                           now: now)
            }
            now += 1
            commands.removeAll()
            s.poll(now: now, into: &commands)
            guard case .send(0, _)? = commands.first else {
                Issue.record("expected a send, got \(commands)")
                return -1
            }
            return s.modelClass(for: 0)
        }
        s.arrived(request, now: 0)
        #expect(sendClass(after: nil) == 0)
        #expect(sendClass(after: 500) == 0, "a 500 retries the same model")
        #expect(sendClass(after: 429) == 1, "a 429 of the primary moves to the first fallback")
        #expect(sendClass(after: 500) == 1)
        #expect(sendClass(after: 529) == 2, "a 529 of the first fallback moves to the second")
        #expect(sendClass(after: 429) == 2, "the list is exhausted: stay on the last, never back")

        // `after: 2` needs two refusals from a model; `to:` gives a one-model list.
        spec.route = RoleSpec(name: "fallback", params: ["after": .number(2), "to": .string("claude-3-5-haiku"),
                                                          "on": .string("429")])
        s = try StrategyFactory.make(spec, seed: 1, models: models)
        s.arrived(request, now: now)
        #expect(sendClass(after: nil) == 0)
        #expect(sendClass(after: 529) == 0, "on: 429 ignores 529s")
        #expect(sendClass(after: 429) == 0)
        #expect(sendClass(after: 429) == 2)

        spec.route = RoleSpec(name: "fallback", params: ["to": .string("claude-opus-9")])
        #expect(throws: StrategyError.self) { _ = try StrategyFactory.make(spec, seed: 1, models: models) }
    }

    @Test func perModelBreakdownAddsUpAndPricesEachModel() throws {
        let sc = Self.scenario([Self.spec("share", route: RoleSpec(name: "share", params: ["share": .number(0.5)])),
                                StrategySpec(name: "sdk-default")], rate: 1, seconds: 300)
        let result = try Simulator.run(sc)
        for run in result.runs {
            let s = Summariser.summarise(log: run.log, stream: result.stream, slo: nil, scenario: sc, options: SummaryOptions())
            let models = try #require(s.models)
            #expect(models.map(\.model) == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            #expect(models.reduce(0) { $0 + $1.attempts } == s.attempts)
            #expect(models.reduce(0) { $0 + $1.succeeded } == s.requests.succeeded)
            #expect(models.reduce(0) { $0 + $1.status429 } == (s.statusCounts["429"] ?? 0))
            let total = models.reduce(0.0) { $0 + ($1.costUSD ?? .nan) }
            #expect(abs(try #require(s.cost).totalUSD - total) < 1e-9)
        }
        let share = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: nil, scenario: sc,
                                         options: SummaryOptions()).models!
        // Same constant output per request: Haiku's list prices are a third of Sonnet's.
        let perSonnet = share[0].costUSD! / Double(share[0].succeeded)
        let perHaiku = share[1].costUSD! / Double(share[1].succeeded)
        #expect(perHaiku < perSonnet / 2)
    }

    @Test func trimAnchors() throws {
        let t = TrimmingStrategy(belowRemaining: 0.2, floor: 0.5, wrapping: try StrategyFactory.make(StrategySpec(name: "none"), seed: 1))
        #expect(t.trimmed(1000, remaining: 250, limit: 1000) == nil, "above below_remaining: whole prompt")
        #expect(t.trimmed(1000, remaining: 200, limit: 1000) == nil)
        #expect(t.trimmed(1000, remaining: 100, limit: 1000) == 750, "halfway down the ramp")
        #expect(t.trimmed(1000, remaining: 0, limit: 1000) == 500, "floor at an empty bucket")
        #expect(t.trimmed(1000, remaining: -400, limit: 1000) == 500, "a bucket in debt is empty")
    }

    /// The trimming bar: an input-limited workload gets fewer input-token 429s with trimming,
    /// the tokens trimmed are reported, and the server is charged the trimmed prompt.
    @Test func trimmingCutsInputTokenRefusals() throws {
        let limits = LimitConfig(rpm: 1000, itpm: 60_000, otpm: 90_000)
        var sc = Self.scenario([Self.spec("plain"),
                                Self.spec("trim", trim: RoleSpec(name: "linear", params: ["below_remaining": .number(0.5),
                                                                                           "floor": .number(0.3)]))],
                               rate: 2, seconds: 600, input: Sampled(.uniform(min: 600, max: 1400)), limits: limits)
        sc.models = []
        let result = try Simulator.run(sc)
        let plain = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: nil, scenario: sc,
                                         options: SummaryOptions())
        let trimmed = Summariser.summarise(log: result.runs[1].log, stream: result.stream, slo: nil, scenario: sc,
                                           options: SummaryOptions())
        let inputRefusals = { (s: RunSummary) in s.refusalsByDimension.filter { $0.key.contains("input") }.values.reduce(0, +) }
        #expect(inputRefusals(plain) > 50, "the workload (~120k ITPM wanted) is input-limited")
        #expect(inputRefusals(trimmed) < inputRefusals(plain) / 2)
        #expect(plain.trim == nil)
        let t = try #require(trimmed.trim)
        let log = result.runs[1].log
        #expect(t.tokensTrimmed == log.trimmedInputTokens.reduce(0) { $0 + Int($1) })
        #expect(t.tokensTrimmed > 0 && t.attemptsTrimmed > 0)
        #expect(abs(t.perRequest - Double(t.tokensTrimmed) / Double(result.stream.count)) < 1e-9)
        // No attempt is trimmed below the floor.
        for a in 0..<log.attemptCountTotal {
            let own = Int(result.stream.inputTokens[Int(log.attemptRequest[a])])
            #expect(log.trimmed(ofAttempt: a) <= own - Int((Double(own) * 0.3).rounded(.up)))
        }
        #expect(trimmed.requests.succeeded > plain.requests.succeeded)
    }
}

extension RoutingSimTests {
    /// The event file names each attempt's model class and carries the trimmed prompt.
    @Test func eventFileHasTheModelAndTheTrimmedPrompt() throws {
        var trim = Self.spec("both", route: RoleSpec(name: "share", params: ["share": .number(0.5)]),
                             trim: RoleSpec(name: "linear", params: ["below_remaining": .number(0.9), "floor": .number(0.2)]))
        trim.label = "both"
        let sc = Self.scenario([trim], rate: 2, seconds: 300, input: Sampled(.uniform(min: 600, max: 1400)),
                               limits: LimitConfig(rpm: 1000, itpm: 60_000, otpm: 90_000))
        let result = try Simulator.run(sc)
        let log = result.runs[0].log
        #expect(log.trimmedInputTokens.contains { $0 > 0 } && log.modelClass.contains(1))
        let text = String(decoding: EventCSV.render(log: log, stream: result.stream), as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        let model = try #require(header.firstIndex(of: "model")), input = try #require(header.firstIndex(of: "input_tokens"))
        let attempt = try #require(header.firstIndex(of: "attempt")), id = try #require(header.firstIndex(of: "request_id"))
        var checked = 0
        for row in lines.dropFirst() where row[attempt] != "0" {
            let r = Int(row[id])!, n = Int(row[attempt])!
            let a = (0..<log.attemptCountTotal).first { Int(log.attemptRequest[$0]) == r && Int(log.attemptNumber[$0]) == n }!
            #expect(Int(row[model]) == log.modelClass(ofAttempt: a))
            let uncached = Int(result.stream.inputTokens[r]) - log.trimmed(ofAttempt: a) - Int(log.cacheReadTokens[a])
                - Int(log.cacheCreationTokens[a])
            #expect(Int(row[input]) == uncached)
            checked += 1
        }
        #expect(checked == log.attemptCountTotal)
    }
}
