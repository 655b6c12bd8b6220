import Foundation
public import LimitlabCore

/// The work a scenario asks for, estimated from its arrival processes before anything runs, so
/// that one that cannot finish is refused with the estimate instead of hanging.
extension ScenarioReader {
    /// Expected arrivals of a source up to `runEnd` (seconds from the run's start; infinity when
    /// the run is counted in requests), and the on/off state changes it goes through on the way.
    static func expected(_ spec: ArrivalSpec, until runEnd: Double) -> (arrivals: Double, flips: Double) {
        let stop = Swift.min(spec.end ?? .infinity, runEnd)
        let span = Swift.max(0, stop - spec.start)
        switch spec.process {
        case .constant(let r), .poisson(let r), .gamma(let r, _):
            return (span == 0 ? 0 : r * span, 0)
        case .onOff(let on, let off, let meanOn, let meanOff):
            let rate = (on * meanOn + off * meanOff) / (meanOn + meanOff)
            return (span == 0 ? 0 : rate * span, span == 0 ? 0 : 2 * span / (meanOn + meanOff))
        case .burst(let at, let count, _):
            return (spec.start + at < stop ? Double(count) : 0, 0)
        case .ramp(let from, let to, let over):
            if span <= over { return (from * span + (to - from) * span * span / (2 * over), 0) }
            let ramp = (from + to) / 2 * over
            return (to == 0 ? ramp : ramp + to * (span - over), 0)
        case .trace(_, let rows):
            return (Double(rows.count), 0)
        }
    }

    /// Refuses arrivals that would produce more than `ScenarioBounds.maxRequests` requests (or
    /// on-off state changes) in the run, and a `requests:` run that would need more than
    /// `ScenarioBounds.maxSeconds` of arrivals to reach its count.
    func checkVolume(_ length: RunLength, _ sources: [ReadArrival], _ list: Field) {
        for p in Self.volumeProblems(length, sources.map(\.spec)) {
            if let i = p.source {
                diag.report((sources[i].field ?? list).mark, "arrivals[\(i)]", p.message)
            } else {
                diag.report(list.mark, list.path, p.message)
            }
        }
    }

    /// The volume problems of `specs` over `length`: per source (its index) or of them all (nil).
    static func volumeProblems(_ length: RunLength, _ specs: [ArrivalSpec]) -> [(source: Int?, message: String)] {
        let cap = Double(ScenarioBounds.maxRequests)
        let capText = "limitlab simulates up to 50,000,000 requests per run"
        func sci(_ v: Double) -> String { v.isFinite ? "~" + String(format: "%.1e", v) : "more than 1.8e+308" }
        var out: [(source: Int?, message: String)] = []
        switch length {
        case .duration(let d):
            var total = 0.0
            for (i, spec) in specs.enumerated() {
                let (n, flips) = Self.expected(spec, until: d)
                total += n
                if n > cap || n.isNaN {
                    out.append((i, "arrivals[\(i)] would produce \(sci(n)) requests in "
                                + "\(Units.formatDuration(d)); \(capText) (lower the rate or the duration)"))
                } else if flips > cap || flips.isNaN {
                    out.append((i, "arrivals[\(i)] would switch on and off \(sci(flips)) times in "
                                + "\(Units.formatDuration(d)); limitlab allows up to 50,000,000 (lengthen mean_on and mean_off)"))
                }
            }
            if total > cap && out.isEmpty {
                out.append((nil, "the arrivals would produce \(sci(total)) requests in "
                            + "\(Units.formatDuration(d)); \(capText) (lower the rates or the duration)"))
            }
        case .requests(let n):
            // Sources that end on their own give a count; the rest a long-run rate.
            var counted = 0.0, rate = 0.0, latestStart = 0.0, flipsPerSecond = 0.0
            for spec in specs {
                let (c, _) = Self.expected(spec, until: .infinity)
                if c.isFinite {
                    counted += c
                    continue
                }
                latestStart = Swift.max(latestStart, spec.start)
                switch spec.process {
                case .constant(let r), .poisson(let r), .gamma(let r, _): rate += r
                case .onOff(let on, let off, let meanOn, let meanOff):
                    rate += (on * meanOn + off * meanOff) / (meanOn + meanOff)
                    flipsPerSecond += 2 / (meanOn + meanOff)
                case .ramp(_, let to, _): rate += to
                case .burst, .trace: break
                }
            }
            let missing = Double(n) - counted
            guard missing > 0, rate > 0 else { return out }
            let span = latestStart + missing / rate
            if span > ScenarioBounds.maxSeconds {
                out.append((nil, "the arrivals would take \(sci(span)) s to produce \(n) requests; "
                            + "limitlab simulates up to \(ScenarioBounds.maxSecondsText) of arrivals "
                            + "(raise the rates or lower requests)"))
            } else if span * flipsPerSecond > cap {
                out.append((nil, "the on-off arrivals would switch on and off \(sci(span * flipsPerSecond)) "
                            + "times to produce \(n) requests; limitlab allows up to 50,000,000 "
                            + "(lengthen mean_on and mean_off)"))
            }
        }
        return out
    }
}

extension ScenarioBounds {
    /// What in `scenario` lies past the bounds the scenario reader enforces, one message each;
    /// empty when none. For scenarios changed after they were read (a sweep's points), which
    /// the reader never saw.
    public static func problems(in s: Scenario) -> [String] {
        var out: [String] = []
        for (k, config) in ([s.limits.config] + s.limits.keys).enumerated() {
            let at = k == 0 ? "limits" : "limits.keys[\(k - 1)]"
            for (name, v) in [("rpm", config.rpm), ("itpm", config.itpm), ("otpm", config.otpm)]
            where !(v > 0 && v <= maxLimitPerMinute) {
                out.append("\(at).\(name): expected a limit in (0, 1e12] per minute, found \(v)")
            }
            if !(config.burst > 0 && config.burst <= maxBurst) {
                out.append("\(at).burst: expected a number in (0, 1e6], found \(config.burst)")
            }
        }
        if !(1...maxTokens).contains(s.workload.maxTokens) {
            out.append("workload.max_tokens: expected an integer in 1...\(maxTokens), found \(s.workload.maxTokens)")
        }
        let p = s.server.overload.probability
        if !(p >= 0 && p <= 1) { out.append("server.overload.probability: expected a number in 0...1, found \(p)") }
        for (i, spec) in s.arrivals.enumerated() {
            switch spec.process {
            case .constant(let r), .poisson(let r), .gamma(let r, _):
                if !(r.isFinite && r > 0) { out.append("arrivals[\(i)].rate: expected a rate > 0, found \(r)/s") }
            default: break
            }
        }
        if case .duration(let d) = s.length, !(d > 0 && d <= maxSeconds) {
            out.append("duration: expected at most \(maxSecondsText), found \(d)s")
        }
        if out.isEmpty {
            out += ScenarioReader.volumeProblems(s.length, s.arrivals).map(\.message)
        }
        return out
    }
}
