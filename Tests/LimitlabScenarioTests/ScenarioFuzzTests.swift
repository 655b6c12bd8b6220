import Foundation
import LimitlabCore
import LimitlabScenario
import LimitlabSim
import LimitlabWorkload
import Testing

/// A seeded scenario-file fuzzer: the shipped scenarios mutated (lines deleted, duplicated or
/// swapped, values replaced by huge, negative, NaN or infinite numbers, random keys, truncation).
/// Every input must either be refused with located issues or load into a scenario that
/// simulates; a trap or a hang fails the run. Inputs that once broke the reader are kept in
/// Fixtures/fuzz and replayed first.
///
/// `LIMITLAB_FUZZ_CASES` sets the number of cases (default 3,000), `LIMITLAB_FUZZ_SECONDS` the time
/// bound (default 20), `LIMITLAB_FUZZ_SEED` the seed;
/// with `LIMITLAB_FUZZ_LAST` set to a path, each input is written there before it is tried, so
/// the input that crashed the process is left behind to be kept as a regression fixture.
@Suite("Scenario fuzzing")
struct ScenarioFuzzTests {
    /// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so a case list is the same
    /// on every machine.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    static let scenariosDir = repoRoot.appendingPathComponent("scenarios").path
    static let numbers = [
        "0", "-1", "1", "-0", "0.5", "1e308", "-1e308", "1e-300", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "1e18", "1e9", "2147483648", "nan", ".nan", "inf", ".inf", "-.inf", "NaN",
        "1_000_000_000", "0x10", "1e3", "4294967296", "65536", "32768", "100000000", "50000001", "3.4e38",
    ]
    static let suffixes = ["", "", "s", "ms", "h", "/s", "/min", "/h", "m"]
    static let keys = ["rate", "count", "duration", "requests", "max_tokens", "prefixes", "shape", "rpm", "burst",
                       "at", "over", "to", "from", "ttft", "seed", "keys", "workers", "zz", "<<", "dist", "min", "max"]

    static func mutate(_ text: String, _ r: inout SplitMix) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<(1 + r.below(3)) where !lines.isEmpty {
            let i = r.below(lines.count)
            switch r.below(7) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines.swapAt(i, r.below(lines.count))
            case 3, 4:
                // A value replaced by a number (with a unit, sometimes).
                let line = lines[i]
                if let colon = line.firstIndex(of: ":") {
                    lines[i] = String(line[...colon]) + " " + r.pick(numbers) + r.pick(suffixes)
                } else if line.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
                    let indent = line.prefix { $0 == " " }
                    lines[i] = indent + "- " + r.pick(numbers)
                }
            case 5:
                let indent = String(repeating: " ", count: 2 * r.below(3))
                lines.insert(indent + r.pick(keys) + ": " + r.pick(numbers) + r.pick(suffixes), at: i)
            default:
                let whole = lines.joined(separator: "\n")
                return String(whole.prefix(r.below(whole.count + 1)))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Loads `yaml`; a scenario that loads is simulated (its first 200 arrivals, so a case stays
    /// short whatever rate it asks for). Returns a description of what went wrong, or nil, and
    /// whether it loaded.
    static func check(_ yaml: String, file: String) -> (problem: String?, loaded: Bool) {
        let scenario: Scenario
        do {
            scenario = try ScenarioLoader.parse(yaml: yaml, file: file, baseDirectory: scenariosDir)
        } catch {
            if error.issues.isEmpty { return ("refused without an issue", false) }
            for issue in error.issues where issue.line < 1 || issue.message.isEmpty || issue.message.hasPrefix("internal error") {
                return ("issue without a place: \(issue)", false)
            }
            return (nil, false)
        }
        return (simulate(scenario), true)
    }

    static func simulate(_ scenario: Scenario) -> String? {
        var short = scenario
        short.length = .requests(200)
        // A source too slow to give 200 arrivals within the bounds would be refused as written.
        if !ScenarioBounds.problems(in: short).isEmpty {
            short.length = .duration(60)
            guard ScenarioBounds.problems(in: short).isEmpty else { return nil }
        }
        let stream = ArrivalGenerator.generate(short)
        guard stream.count <= 200 else { return "the stream has \(stream.count) arrivals" }
        do {
            let result = try Simulator.run(short)
            for run in result.runs where run.log.bucketRequests.count > 2048 {
                return "\(run.spec.label): \(run.log.bucketRequests.count) bucket samples"
            }
        } catch {
            return "loaded, but its strategies do not build: \(error)"
        }
        return nil
    }

    static var fixturesDir: String { fixtures + "/fuzz" }

    @Test func keptCrashersStayFixed() throws {
        let names = (try FileManager.default.contentsOfDirectory(atPath: Self.fixturesDir)).filter { $0.hasSuffix(".yaml") }
        #expect(!names.isEmpty)
        for name in names.sorted() {
            let text = try String(contentsOfFile: Self.fixturesDir + "/" + name, encoding: .utf8)
            // Also under a one-character file name: NSString.deletingLastPathComponent traps on one.
            for file in [name, "x"] {
                if let problem = Self.check(text, file: file).problem { Issue.record("\(name) as \(file): \(problem)") }
            }
        }
    }

    @Test func mutatedShippedScenariosNeverTrap() throws {
        let env = ProcessInfo.processInfo.environment
        let cases = env["LIMITLAB_FUZZ_CASES"].flatMap(Int.init) ?? 3000
        let seed = env["LIMITLAB_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_206
        let last = env["LIMITLAB_FUZZ_LAST"]
        let seconds = env["LIMITLAB_FUZZ_SECONDS"].flatMap(Int.init) ?? 20
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.scenariosDir)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        let sources = try names.map { try String(contentsOfFile: Self.scenariosDir + "/" + $0, encoding: .utf8) }
        try #require(!sources.isEmpty)
        var r = SplitMix(state: seed)
        let clock = ContinuousClock()
        let start = clock.now
        var tried = 0, loaded = 0
        for k in 0..<cases {
            // Bounded time: a slow machine tries fewer cases rather than stalling `make test`.
            if clock.now - start > .seconds(seconds) { break }
            let base = r.below(sources.count)
            let input = Self.mutate(sources[base], &r)
            if let last { try? input.write(toFile: last, atomically: false, encoding: .utf8) }
            let caseStart = clock.now
            // Alternate the file name's shape: messages name files relative to it.
            let file = k % 2 == 0 ? "case-\(k).yaml" : ["x", "/", "a/b.yaml", "./"][k / 2 % 4]
            let (problem, ok) = Self.check(input, file: file)
            if let problem { Issue.record("case \(k) (from \(names[base]), seed \(seed)): \(problem)\n\(input)") }
            #expect(clock.now - caseStart < .seconds(5), "case \(k) took \(clock.now - caseStart)\n\(input)")
            if ok { loaded += 1 }
            tried += 1
        }
        print("scenario fuzzing: \(tried) cases, \(loaded) loaded and simulated, seed \(seed)")
        #expect(tried >= min(cases, 300), "only \(tried) cases in \(seconds) s")
        // The mutations must leave some inputs valid, or the simulator side is never reached.
        #expect(loaded > 0)
    }
}
