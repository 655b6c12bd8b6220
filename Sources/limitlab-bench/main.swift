// limitlab-bench: measured figures for the simulator (speed and memory per request).
// Usage: limitlab-bench [--requests N[,N...]] [--strategy none|sdk-default] [--out DIR]
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStrategies


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
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--requests": counts = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--strategy": strategyName = args.popFirst() ?? strategyName
    case "--out": outDir = args.popFirst() ?? outDir
    case "--load": load = Double(args.popFirst() ?? "") ?? load
    case "--burst": burst = Double(args.popFirst() ?? "") ?? burst
    default:
        FileHandle.standardError.write(Data("usage: limitlab-bench [--requests N[,N]] [--strategy NAME] [--load FRACTION_OF_RPM] [--burst FRACTION_OF_MINUTE] [--out DIR]\n".utf8))
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
            "ns_per_attempt": nsPerAttempt,
        ]
        if let ratio { entry["time_vs_none"] = ratio }
        results.append(entry)
    }
}
try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
let data = try JSONSerialization.data(withJSONObject: ["benchmark": "simulator", "results": results],
                                      options: [.prettyPrinted, .sortedKeys])
try data.write(to: URL(fileURLWithPath: outDir + "/sim-\(ReportWriter.fileSafe(strategyName)).json"))
