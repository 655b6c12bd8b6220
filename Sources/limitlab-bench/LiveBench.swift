// `limitlab-bench live MODE …`: figures for the live runner against a server that is already
// running (bench/live-bench.sh starts `limitlab serve` on another core). Every mode drives the
// public LiveRunner — the same engine `limitlab run --target URL` uses — and prints one JSON
// object on standard output.
//
//   live poisson --url U --rate R --duration S [--output-tokens N] [--stream true|false] [--metrics true|false]
//       open loop, Poisson arrivals: realised send rate, schedule-lag percentiles, CPU per attempt
//   live closed --url U --connections C --duration S [--max-rate R] [--stream false|true]
//       closed loop: C requests in flight, each completion releases the next (strategy `none`
//       behind a fixed concurrency limit of C, fed a queue that never empties); completions/s
//   live streams --url U --streams N --ramp S --output-tokens N
//       N streaming requests opened over S seconds against a slow stream: whether all were open
//       at once, and the runner's peak RSS
import Foundation
import LimitlabCore
import LimitlabLive

enum LiveBench {
    static func main(_ arguments: [String]) -> Never {
        var args = arguments[...]
        guard let mode = args.popFirst() else { usage() }
        var options: [String: String] = [:]
        while let a = args.popFirst() {
            guard a.hasPrefix("--"), let v = args.popFirst() else { usage() }
            options[String(a.dropFirst(2))] = v
        }
        func number(_ key: String, _ fallback: Double? = nil) -> Double {
            if let s = options[key], let v = Double(s) { return v }
            if let fallback { return fallback }
            usage()
        }
        guard let url = options["url"] else { usage() }
        let out: [String: Any]
        switch mode {
        case "poisson":
            out = poisson(url: url, rate: number("rate"), duration: number("duration"),
                          outputTokens: Int(number("output-tokens", 5)), stream: options["stream"] != "false",
                          metrics: options["metrics"] == "true")
        case "closed":
            // Defaults match bench/messages.lua (wrk): non-streaming, a tiny prompt, 10 output tokens.
            out = closed(url: url, connections: Int(number("connections")), duration: number("duration"),
                         maxRate: number("max-rate", 60_000), outputTokens: Int(number("output-tokens", 10)),
                         stream: options["stream"] == "true")
        case "streams":
            out = streams(url: url, count: Int(number("streams")), ramp: number("ramp", 5),
                          outputTokens: Int(number("output-tokens", 12)))
        default:
            usage()
        }
        let data = try! JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
        exit(0)
    }

    static func usage() -> Never {
        FileHandle.standardError.write(Data("""
            usage: limitlab-bench live poisson --url URL --rate PER_S --duration S [--output-tokens N] [--stream BOOL] [--metrics BOOL]
                   limitlab-bench live closed --url URL --connections C --duration S [--max-rate PER_S] [--stream BOOL]
                   limitlab-bench live streams --url URL --streams N [--ramp S] [--output-tokens N]

            """.utf8))
        exit(2)
    }

    // MARK: Modes

    static func scenario(arrivals: ArrivalSpec, length: RunLength, outputTokens: Int, inputTokens: Int = 50,
                         stream: Bool = true, strategy: StrategySpec = StrategySpec(name: "none")) -> Scenario {
        // Limits that never bind: the server's limits decide nothing in these figures.
        Scenario(name: "live-bench", seed: 1, length: length, model: "claude-sonnet-4-5",
                 limits: LimitsSpec(config: LimitConfig(rpm: 1e12, itpm: 1e15, otpm: 1e15)),
                 server: ServerModel(), arrivals: [arrivals],
                 workload: WorkloadSpec(inputTokens: Sampled(.constant(Double(inputTokens))),
                                        outputTokens: Sampled(.constant(Double(outputTokens))),
                                        maxTokens: Swift.max(64, outputTokens), stream: stream),
                 strategies: [strategy])
    }

    static func poisson(url: String, rate: Double, duration: Double, outputTokens: Int, stream: Bool,
                        metrics: Bool = false) -> [String: Any] {
        let s = scenario(arrivals: ArrivalSpec(.poisson(rate: rate)), length: .duration(duration),
                         outputTokens: outputTokens, stream: stream)
        // A runner that collapses (see docs/live-runner.md) is stopped 15 s after the window, so
        // the figures say how far behind it was instead of the script's timeout killing it.
        // `--metrics true`: the live metrics on (docs/telemetry.md), to measure what they cost.
        var options = LiveOptions(requestTimeout: 30, gracePeriod: 5)
        if metrics { options.metrics = LiveMetrics() }
        let (result, cpu, wall) = timed(s, url: url, options: options, stopAfter: duration + 15)
        let run = result.runs[0]
        let attempts = run.attempts.count
        var lags = (0..<attempts).map { run.lag(attempt: $0) }
        // When the worst sends happened (planned time, lag ms): start-up, or spread out.
        let worst = lags.indices.sorted { lags[$0] > lags[$1] }.prefix(5)
            .map { [run.attempts.plannedAt[$0], lags[$0] * 1000] }
        lags.sort()
        // Realised: sends made inside the arrival window, per second of window. A runner that
        // falls behind sends fewer in the window than were planned.
        let inWindow = (0..<attempts).filter { run.log.sentAt[$0] <= duration }.count
        var ok = 0
        for a in 0..<attempts where run.log.status[a] == 200 && run.log.errorKind[a] == ErrorKind.none.rawValue { ok += 1 }
        return [
            "mode": "poisson", "metrics": metrics, "stream": stream, "target_rate": rate, "duration_s": duration, "planned": result.stream.count,
            "sent": attempts, "sent_in_window": inWindow, "realised_rate": Double(inWindow) / duration,
            "planned_rate": Double(result.stream.count) / duration, "ok": ok, "errors": attempts - ok,
            "lag_ms": quantiles(lags).mapValues { $0 * 1000 },
            "cpu_s": cpu, "wall_s": wall, "cpu_us_per_attempt": cpu / Double(Swift.max(1, attempts)) * 1e6,
            "warnings": result.warnings, "error_causes": run.errorCauses, "worst_lags": worst,
            "partial": result.partial,
            "over_1ms": lags.filter { $0 > 0.001 }.count,
            "new_connections": run.attempts.connectSeconds.filter { $0 > 0 }.count,
            "per_second": perSecond(run, duration: duration),
        ]
    }

    static func closed(url: String, connections c: Int, duration: Double, maxRate: Double,
                       outputTokens: Int, stream: Bool) -> [String: Any] {
        // Every request arrives at once (1e9/s); a concurrency limit of exactly c lets the next
        // queued request out when one finishes: a closed loop through the ordinary engine.
        let n = Int(maxRate * duration)
        let limit = ParamValue.number(Double(c))
        let spec = StrategySpec(name: "none", concurrency: RoleSpec(
            name: "aimd", params: ["initial_limit": limit, "min_limit": limit, "max_limit": limit]))
        let s = scenario(arrivals: ArrivalSpec(.constant(rate: 1e9)), length: .requests(n), outputTokens: outputTokens,
                         inputTokens: 10, stream: stream, strategy: spec)
        let runner = LiveRunner(scenario: s, target: LiveTarget(baseURL: url),
                                options: LiveOptions(requestTimeout: 30, gracePeriod: 5, maxConnections: c))
        // Stop after `duration` seconds of the run; completions after that do not count.
        let stopper = Thread {
            Thread.sleep(forTimeInterval: duration)
            runner.stop()
        }
        let cpu0 = cpuSeconds(), wall0 = Date()
        stopper.start()
        let result: LiveResult
        do { result = try runner.run() } catch { fail("\(error)") }
        let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
        let run = result.runs[0]
        // The queue fills in the first instants: measure from the first send.
        let start = run.attempts.count > 0 ? run.log.sentAt[0] : 0
        let end = run.stoppedAt ?? duration
        var completed = 0, ok = 0
        for a in 0..<run.attempts.count where run.log.completedAt[a] <= end {
            completed += 1
            if run.log.status[a] == 200 && run.log.errorKind[a] == ErrorKind.none.rawValue { ok += 1 }
        }
        let dry = run.offered > 0 && run.attempts.count >= n
        return [
            "mode": "closed", "stream": stream, "connections": c, "duration_s": end - start, "completed": completed, "ok": ok,
            "rps": Double(completed) / Swift.max(1e-9, end - start), "queue_ran_dry": dry,
            "cpu_s": cpu, "wall_s": wall, "cpu_us_per_request": cpu / Double(Swift.max(1, run.attempts.count)) * 1e6,
            "error_causes": run.errorCauses,
        ]
    }

    static func streams(url: String, count: Int, ramp: Double, outputTokens: Int) -> [String: Any] {
        let s = scenario(arrivals: ArrivalSpec(.constant(rate: Double(count) / ramp)), length: .requests(count),
                         outputTokens: outputTokens)
        let peak = Peak()
        var o = LiveOptions(connectTimeout: 30, requestTimeout: 120, gracePeriod: 10, progressInterval: 0.1)
        o.progress = { p in peak.note(p.inFlight) }
        let (result, cpu, wall) = timed(s, url: url, options: o)
        let run = result.runs[0]
        let n = run.attempts.count
        var ok = 0
        var lastSend = -Double.infinity, firstEnd = Double.infinity, shortest = Double.infinity
        for a in 0..<n {
            if run.log.status[a] == 200 && run.log.errorKind[a] == ErrorKind.none.rawValue { ok += 1 }
            lastSend = Swift.max(lastSend, run.log.sentAt[a])
            firstEnd = Swift.min(firstEnd, run.log.completedAt[a])
            shortest = Swift.min(shortest, run.log.completedAt[a] - run.log.sentAt[a])
        }
        // Every stream was open at once when the first one ended after the last was sent.
        let allOpen = n == count && ok == count && firstEnd > lastSend
        return [
            "mode": "streams", "streams": count, "sent": n, "ok": ok, "peak_in_flight": peak.value,
            "all_open_at_once": allOpen, "last_send_s": lastSend, "first_completion_s": firstEnd,
            "shortest_stream_s": shortest, "peak_rss_mib": Double(peakResidentBytes()) / 1_048_576,
            "cpu_s": cpu, "wall_s": wall, "error_causes": run.errorCauses, "warnings": result.warnings,
        ]
    }

    // MARK: Helpers

    /// Per second of the window: sends, lag p99 (ms), new connections, service time p50 (ms):
    /// shows whether trouble came from the runner (lag) or the server (service time, connects).
    static func perSecond(_ run: LiveRun, duration: Double) -> [[Double]] {
        let seconds = Int(duration.rounded(.up))
        var lag = [[Double]](repeating: [], count: seconds)
        var service = [[Double]](repeating: [], count: seconds)
        var connects = [Int](repeating: 0, count: seconds)
        for a in 0..<run.attempts.count {
            let s = Int(run.attempts.plannedAt[a])
            guard s >= 0 && s < seconds else { continue }
            lag[s].append(run.lag(attempt: a))
            service[s].append(run.log.completedAt[a] - run.log.sentAt[a])
            if run.attempts.connectSeconds[a] > 0 { connects[s] += 1 }
        }
        return (0..<seconds).map { s in
            lag[s].sort()
            service[s].sort()
            return [Double(s), Double(lag[s].count), (quantiles(lag[s])["p99"] ?? 0) * 1000, Double(connects[s]),
                    (quantiles(service[s])["p50"] ?? 0) * 1000]
        }
    }

    static func timed(_ s: Scenario, url: String, options: LiveOptions,
                      stopAfter: Double? = nil) -> (LiveResult, Double, Double) {
        let runner = LiveRunner(scenario: s, target: LiveTarget(baseURL: url), options: options)
        if let stopAfter {
            Thread {
                Thread.sleep(forTimeInterval: stopAfter)
                runner.stop()
            }.start()
        }
        let cpu0 = cpuSeconds(), wall0 = Date()
        do {
            let r = try runner.run()
            return (r, cpuSeconds() - cpu0, Date().timeIntervalSince(wall0))
        } catch {
            fail("\(error)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("limitlab-bench live: \(message)\n".utf8))
        exit(1)
    }

    /// VmHWM of this process, bytes.
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (Int(line.filter(\.isNumber)) ?? 0) * 1024
        }
        return 0
    }

    /// User + system CPU of the whole process (the runner alone: the server is another process).
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// p50/p90/p99/p99.9/max of sorted samples (linear interpolation, GSL type 7).
    static func quantiles(_ sorted: [Double]) -> [String: Double] {
        guard !sorted.isEmpty else { return [:] }
        func q(_ p: Double) -> Double {
            let h = Double(sorted.count - 1) * p
            let i = Int(h.rounded(.down))
            let j = Swift.min(i + 1, sorted.count - 1)
            return sorted[i] + (h - Double(i)) * (sorted[j] - sorted[i])
        }
        return ["p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p99_9": q(0.999), "max": sorted[sorted.count - 1]]
    }
}

/// The largest value seen, from the engine thread's progress calls.
final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0

    func note(_ v: Int) { lock.withLock { peak = Swift.max(peak, v) } }
    var value: Int { lock.withLock { peak } }
}
