// limitlab-bench: measured figures for the simulator (speed and memory per request).
// Usage: limitlab-bench [--requests N[,N...]] [--strategy none|sdk-default] [--out DIR]
import Foundation
import LimitlabWorkload
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStrategies

// `limitlab-bench live …`: the live runner's figures (LiveBench.swift, bench/live-bench.sh).
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "live" { LiveBench.main(Array(CommandLine.arguments.dropFirst(2))) }


func residentBytes(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let digits = line.filter(\.isNumber)
        return (Int(digits) ?? 0) * 1024
    }
    return 0
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

var counts = [1_000_000]
var strategyName = "sdk-default"
var outDir = "reports/bench"
var load = 0.95
var burst = 1.0 / 60
// `--suite NAME`: also the file name, `<out>/<NAME>.json` (default `sim-<strategy>.json`).
var suite: String?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--requests": counts = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--strategy": strategyName = args.popFirst() ?? strategyName
    case "--out": outDir = args.popFirst() ?? outDir
    case "--load": load = Double(args.popFirst() ?? "") ?? load
    case "--burst": burst = Double(args.popFirst() ?? "") ?? burst
    case "--suite": suite = args.popFirst()
    default:
        FileHandle.standardError.write(Data("usage: limitlab-bench [--requests N[,N]] [--strategy NAME] [--load FRACTION_OF_RPM] [--burst FRACTION_OF_MINUTE] [--suite NAME] [--out DIR]\n".utf8))
        exit(2)
    }
}

// Tier 4 Sonnet 4.x, Poisson at `load` × RPM (RPM binds, tokens do not), buckets holding
// `burst` of a minute (default 1 s: "RPM enforced per second"), so Poisson bursts draw 429s and
// the strategy's retries are exercised.
let catalog = TierCatalog.builtIn
let row = catalog.limits(tier: "tier-4", modelClass: "sonnet-4.x")!
let limits = LimitConfig(rpm: Double(row.rpm), itpm: Double(row.itpm), otpm: Double(row.otpm), burst: burst)
var results: [[String: Any]] = []
// `--strategy all`: every top-level strategy and preset on the same stream, timed against none.
let strategyNames = strategyName == "all" ? StrategyRegistry.names : [strategyName]
print("simulator benchmark (\(strategyNames.count == 1 ? strategyName : "all strategies")): Poisson at \(Int(load * 100))% of tier-4 RPM (\(row.rpm)/min), burst \(String(format: "%.4g", burst)) min, strategy \(strategyName), one core")
for n in counts {
    var scenario = Scenario(
        name: "bench", seed: 1, length: .requests(n), model: "claude-sonnet-4-5",
        limits: LimitsSpec(config: limits, tier: "tier-4", modelClass: "sonnet-4.x"),
        server: ServerModel(),
        arrivals: [ArrivalSpec(.poisson(rate: Double(row.rpm) * load / 60))],
        workload: WorkloadSpec(inputTokens: Sampled(.lognormal(mu: 5.5, sigma: 0.8), min: 1, max: 100_000),
                               outputTokens: Sampled(.lognormal(mu: 4, sigma: 0.7)), maxTokens: 1024),
        strategies: [])
    let rssBefore = residentBytes("VmRSS")
    let t0 = now()
    let stream = ArrivalGenerator.generate(scenario)
    let t1 = now()
    var noneTime: Double?
    for name in strategyNames {
        scenario.strategies = [StrategySpec(name: name)]
        let strategy = try StrategyFactory.make(scenario.strategies[0], limits: scenario.limits.config, seed: scenario.seed)
        // Reset the peak-RSS mark so each strategy's peak is its own (Linux: "5" > clear_refs).
        if let fh = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            fh.write(Data("5".utf8))
            try? fh.close()
        }
        let ts = now()
        let log = Simulator.run(scenario: scenario, stream: stream, strategy: strategy)
        let t2 = now()
        let peakAfterSim = residentBytes("VmHWM")
        let summary = Summariser.summarise(log: log, stream: stream, slo: nil)
        let t3 = now()
        let peakAfterSummary = residentBytes("VmHWM")
        let simSeconds = t2 - ts
        if name == "none" { noneTime = simSeconds }
        let simRate = Double(n) / (t1 - t0 + simSeconds)
        let bytesPerRequest = Double(peakAfterSim - rssBefore) / Double(n)
        let ratio = noneTime.map { simSeconds / $0 }
        let nsPerAttempt = simSeconds / Double(max(1, log.attemptCountTotal)) * 1e9
        let line = String(format: "%9d requests, %-22@ generate %.3fs, simulate %.3fs%@ → %.2fM requests/s, %.0f ns/attempt; "
                          + "summary %.3fs; %.0f B/request peak; %d attempts, %d × 429",
                          n, name as NSString, t1 - t0, simSeconds,
                          (ratio.map { String(format: " (%.2f× none)", $0) } ?? "") as NSString,
                          simRate / 1e6, nsPerAttempt, t3 - t2, bytesPerRequest, log.attemptCountTotal,
                          summary.statusCounts["429"] ?? 0)
        print(line)
        var entry: [String: Any] = [
            "requests": n, "strategy": name, "load": load, "burst": burst, "generate_s": t1 - t0, "simulate_s": simSeconds,
            "requests_per_wall_s": simRate, "summary_s": t3 - t2, "bytes_per_request": bytesPerRequest,
            "bytes_per_request_with_summary": Double(peakAfterSummary - rssBefore) / Double(n),
            "attempts": log.attemptCountTotal, "status_429": summary.statusCounts["429"] ?? 0,
            "succeeded": summary.requests.succeeded,
            "ns_per_attempt": nsPerAttempt,
        ]
        if let ratio { entry["time_vs_none"] = ratio }
        results.append(entry)
    }
}
try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
let suiteName = suite ?? "sim-\(ReportWriter.fileSafe(strategyName))"
// The common figure format of every bench (limitlab.bench/1, bench/benchlib.py); `results`
// keeps the detailed rows.
let report: [String: Any] = [
    "schema": "limitlab.bench/1", "suite": suiteName, "date": BenchFigures.date(), "machine": BenchFigures.machine(),
    "figures": BenchFigures.figures(suite: suiteName, results: results, command: CommandLine.arguments),
    "benchmark": "simulator", "results": results,
]
let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
try data.write(to: URL(fileURLWithPath: outDir + "/\(suiteName).json"))

/// Figures in the common bench format from the result rows.
enum BenchFigures {
    static func date() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    /// "2 cores, MODEL, Linux KERNEL, N GiB RAM".
    static func machine() -> String {
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        let cpu = read("/proc/cpuinfo").split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
        let kernel = read("/proc/sys/kernel/osrelease").trimmingCharacters(in: .whitespacesAndNewlines)
        let memKiB = read("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("MemTotal") }
            .map { Double($0.filter(\.isNumber)) ?? 0 } ?? 0
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), Linux \(kernel), "
            + String(format: "%.1f GiB RAM", memKiB / 1_048_576)
    }

    static func size(_ n: Int) -> String {
        n % 1_000_000 == 0 ? "\(n / 1_000_000)m" : n % 1000 == 0 ? "\(n / 1000)k" : "\(n)"
    }

    static func figures(suite: String, results: [[String: Any]], command: [String]) -> [[String: Any]] {
        // The command as rerun from the repository root (the binary as `make bench` builds it).
        let cmd = ([".build-bench/release/limitlab-bench"] + command.dropFirst()).joined(separator: " ")
        func figure(_ id: String, _ title: String, _ value: Double, _ unit: String, target: String?,
                    met: Bool?) -> [String: Any] {
            ["id": id, "title": title, "value": value, "unit": unit, "target": target ?? NSNull(),
             "met": met.map { $0 as Any } ?? NSNull(), "peer": NSNull(), "peer_value": NSNull(), "ratio": NSNull(),
             "command": cmd]
        }
        var out: [[String: Any]] = []
        let byStrategy = Set(results.compactMap { $0["strategy"] as? String }).count > 1
        for r in results where !byStrategy {
            guard let n = r["requests"] as? Int, let name = r["strategy"] as? String,
                  let rps = r["requests_per_wall_s"] as? Double, let bytes = r["bytes_per_request"] as? Double,
                  let load = r["load"] as? Double else { continue }
            let what = "\(size(n).uppercased()) requests, \(name), \(Int((load * 100).rounded())) % of RPM"
            // The issue's bars apply to the default scenario (95 % of RPM): 1M simulated requests
            // per wall second, and about 100 bytes per request at 10M.
            let bars = abs(load - 0.95) < 1e-9
            out.append(figure("\(suite).\(size(n)).rps", "simulated requests per wall second, \(what)", rps, "req/s",
                              target: bars ? "≥ 1,000,000" : nil, met: bars ? rps >= 1_000_000 : nil))
            let memBar = bars && n >= 10_000_000
            out.append(figure("\(suite).\(size(n)).bytes_per_request", "peak memory per request after simulation, \(what)",
                              bytes, "B/request", target: memBar ? "≤ 100" : nil, met: memBar ? bytes <= 100 : nil))
            if let s = r["summary_s"] as? Double {
                out.append(figure("\(suite).\(size(n)).summary_s", "report summary time, \(what)", s, "s",
                                  target: nil, met: nil))
            }
        }
        // `--strategy all`: one row for the slowest strategy relative to `none` per size (the
        // rest stay in `results`).
        if byStrategy {
            for n in Set(results.compactMap { $0["requests"] as? Int }).sorted() {
                let rows = results.filter { ($0["requests"] as? Int) == n && $0["time_vs_none"] != nil }
                guard let worst = rows.max(by: { ($0["time_vs_none"] as? Double ?? 0) < ($1["time_vs_none"] as? Double ?? 0) }),
                      let ratio = worst["time_vs_none"] as? Double, let name = worst["strategy"] as? String,
                      let load = worst["load"] as? Double else { continue }
                out.append(figure("\(suite).\(size(n)).max_time_vs_none",
                                  "slowest of \(rows.count) strategies (\(name)): simulation time vs none, "
                                  + "\(size(n).uppercased()) requests, \(Int((load * 100).rounded())) % of RPM",
                                  ratio, "×", target: nil, met: nil))
            }
        }
        return out
    }
}
