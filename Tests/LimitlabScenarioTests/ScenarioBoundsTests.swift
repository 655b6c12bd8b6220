import Foundation
import LimitlabCore
import LimitlabScenario
import LimitlabSim
import Testing

/// Values `validate` accepted that made the simulator trap, allocate terabytes or never end.
@Suite("Scenario volume and value bounds")
struct ScenarioVolumeTests {
    func only(_ yaml: String) -> ScenarioIssue? {
        let found = issues(yaml)
        #expect(found.count == 1, "\(found)")
        return found.first
    }

    @Test func rateTimesDurationPastTheCapIsRefusedWithTheEstimate() {
        let issue = only(replacing("    rate: 40/min", with: "    rate: 1e18/s"))
        #expect(issue?.path == "arrivals[0]")
        #expect(issue?.message == "arrivals[0] would produce ~6.0e+20 requests in 10m; limitlab simulates up to "
                + "50,000,000 requests per run (lower the rate or the duration)")
        let ramp = only(replacing("  - process: poisson\n    rate: 40/min",
                                  with: "  - process: ramp\n    from: 1/s\n    to: 1e12/s\n    over: 1m"))
        #expect(ramp?.message.hasPrefix("arrivals[0] would produce ~5.7e+14 requests") == true, "\(String(describing: ramp))")
    }

    @Test func manySourcesTogetherPastTheCap() {
        let source = "  - process: constant\n    rate: 50000/s\n"
        let yaml = replacing("  - process: poisson\n    rate: 40/min\n",
                             with: String(repeating: source, count: 2))
        let issue = only(yaml)
        #expect(issue?.path == "arrivals")
        #expect(issue?.message.hasPrefix("the arrivals would produce ~6.0e+07 requests in 10m") == true)
    }

    @Test func countsAndSpansAreBounded() {
        #expect(only(replacing("duration: 10m", with: "requests: 1e9"))?.message
                == "expected an integer ≥ 1, found \"1e9\"")
        #expect(only(replacing("duration: 10m", with: "requests: 1_000_000_000"))?.message
                == "expected an integer ≤ 50000000, found \"1_000_000_000\"")
        #expect(only(replacing("duration: 10m", with: "duration: 100000000h"))?.message
                == "expected a duration of at most 720h, 30 days, found \"100000000h\"")
        // A tiny rate for a few requests: the arrivals would span 10^300 seconds.
        let slow = only(replacing("duration: 10m", with: "requests: 10", in:
                                    replacing("    rate: 40/min", with: "    rate: 1e-300/s")))
        #expect(slow?.message.hasPrefix("the arrivals would take ~1.0e+301 s to produce 10 requests") == true,
                "\(String(describing: slow))")
        let burst = only(replacing("  - process: poisson\n    rate: 40/min",
                                   with: "  - process: burst\n    count: 1000000000"))
        #expect(burst?.message == "expected an integer ≤ 50000000, found \"1000000000\"")
        let gamma = only(replacing("  - process: poisson\n    rate: 40/min",
                                   with: "  - process: gamma\n    rate: 1/s\n    shape: 1e-300"))
        #expect(gamma?.path == "arrivals[0].shape")
    }

    @Test func limitsAndTokenRangesCannotOverflow() {
        let limits = issues(replacing("  tier: tier-1", with: "  rpm: 1e308\n  itpm: 1e308\n  otpm: 1e308"))
        #expect(limits.map(\.path) == ["limits.rpm", "limits.itpm", "limits.otpm"])
        #expect(limits.allSatisfy { $0.message.hasPrefix("expected a limit of at most 1e12 per minute") })
        let uniform = only(replacing("  output_tokens: 150",
                                     with: "  output_tokens: {dist: uniform, min: 1, max: 9223372036854775807}"))
        #expect(uniform?.path == "workload.output_tokens.max")
        #expect(only(replacing("  max_tokens: 1024", with: "  max_tokens: 1024\n  cache: {share: 0.5, prefixes: 1e12}"))?
                    .path == "workload.cache.prefixes")
        #expect(only(replacing("  max_tokens: 1024", with: "  max_tokens: 1000000000000"))?.path == "workload.max_tokens")
    }

    @Test func traceTimesAreBounded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("limitlab-bounds-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "at_s,input_tokens,output_tokens,max_tokens\n0,10,10,10\n1e300,10,10,10\n"
            .write(to: dir.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        let yaml = replacing("duration: 10m\n", with: "", in:
                                replacing("  - process: poisson\n    rate: 40/min", with: "  - process: trace\n    file: t.csv"))
        let found = issues(yaml, base: dir.path)
        #expect(found.count == 1)
        #expect(found.first?.line == 3)
        #expect(found.first?.message.hasPrefix("at_s: expected at most 2592000 seconds") == true, "\(found)")
    }
}

/// Bucket levels are sampled at a bounded count however long the run lasts.
@Suite("Simulated bucket samples")
struct BucketSampleTests {
    @Test func aTenHourLatencyKeepsTheSampleCountBounded() throws {
        let yaml = replacing("duration: 10m", with: "requests: 23") + "\nserver:\n  ttft: 10h"
        let result = try Simulator.run(try scenario(yaml))
        for run in result.runs {
            let log = run.log
            #expect(log.bucketRequests.count <= 2048)
            #expect(log.bucketRequests.count == log.bucketOutputTokens.count)
            // The samples still cover the whole run (the last completion is past 10 h).
            let last = log.completedAt.filter(\.isFinite).max() ?? 0
            #expect(last >= 36_000)
            #expect(Double(log.bucketRequests.count) * log.bucketSampleInterval >= last)
        }
    }

    /// A response that takes ~10^302 s (found by the fuzzer): the samples taken on the way are
    /// bounded too, not only those kept (it took 47 s).
    @Test func aResponseTakingForeverIsSampledQuickly() throws {
        let yaml = replacing("duration: 10m", with: "requests: 5") + "\nserver:\n  output_rate: 1e-300/s"
        let start = ContinuousClock.now
        let result = try Simulator.run(try scenario(yaml))
        #expect(ContinuousClock.now - start < .seconds(3))
        for run in result.runs { #expect(run.log.bucketRequests.count <= 2048) }
    }
}

/// `NSString.deletingLastPathComponent` traps on a one-character path (swift-corelibs-foundation,
/// Swift 6.3.1): a scenario named `x` that refers to a file crashed `validate`. Found by the
/// fuzzer.
@Suite("Scenario file names")
struct ScenarioFileNameTests {
    @Test func oneCharacterScenarioNamesResolveTheirFiles() throws {
        let yaml = replacing("duration: 10m\n", with: "", in:
                                replacing("  - process: poisson\n    rate: 40/min",
                                          with: "  - process: trace\n    file: traces/sample.csv"))
        for file in ["x", ".", "/", "a/b", "//x"] {
            let s = try ScenarioLoader.parse(yaml: yaml, file: file, baseDirectory: repoRoot.appendingPathComponent("scenarios").path)
            #expect(s.arrivals.count == 1)
        }
        let missing = issues(replacing("traces/sample.csv", with: "nowhere.csv", in: yaml), file: "x")
        #expect(missing.first?.message.contains("\"nowhere.csv\"") == true, "\(missing)")
    }
}

/// Scenarios changed after reading (a sweep's points) are checked against the same bounds.
@Suite("Scenario bounds of changed scenarios")
struct ScenarioBoundsProblemsTests {
    @Test func aReadScenarioHasNoProblems() throws {
        #expect(ScenarioBounds.problems(in: try scenario(minimalYAML)).isEmpty)
    }

    @Test func sweptValuesPastTheBoundsAreNamed() throws {
        let base = try scenario(minimalYAML)
        var rpm = base
        rpm.limits.config.rpm = 1e308
        #expect(ScenarioBounds.problems(in: rpm) == ["limits.rpm: expected a limit in (0, 1e12] per minute, found 1e+308"])
        var rate = base
        rate.arrivals[0].process = .poisson(rate: 1e308)
        #expect(ScenarioBounds.problems(in: rate).first?.hasPrefix("arrivals[0] would produce more than 1.8e+308 requests") == true,
                "\(ScenarioBounds.problems(in: rate))")
        var tokens = base
        tokens.workload.maxTokens = 1 << 40
        #expect(ScenarioBounds.problems(in: tokens).count == 1)
        var zero = base
        zero.limits.config.burst = 0
        #expect(ScenarioBounds.problems(in: zero).first?.hasPrefix("limits.burst") == true)
    }
}
