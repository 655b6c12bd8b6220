import Foundation
import LimitlabCore

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
        let cap = Double(ScenarioBounds.maxRequests)
        let capText = "limitlab simulates up to 50,000,000 requests per run"
        func sci(_ v: Double) -> String { String(format: "%.1e", v) }
        switch length {
        case .duration(let d):
            var total = 0.0
            var reported = false
            for (i, s) in sources.enumerated() {
                let (n, flips) = Self.expected(s.spec, until: d)
                total += n
                let at = s.field ?? list
                if n > cap {
                    diag.report(at.mark, "arrivals[\(i)]", "arrivals[\(i)] would produce ~\(sci(n)) requests in "
                                + "\(Units.formatDuration(d)); \(capText) (lower the rate or the duration)")
                    reported = true
                } else if flips > cap {
                    diag.report(at.mark, "arrivals[\(i)]", "arrivals[\(i)] would switch on and off ~\(sci(flips)) times in "
                                + "\(Units.formatDuration(d)); limitlab allows up to 50,000,000 (lengthen mean_on and mean_off)")
                    reported = true
                }
            }
            if total > cap && !reported {
                diag.report(list.mark, list.path, "the arrivals would produce ~\(sci(total)) requests in "
                            + "\(Units.formatDuration(d)); \(capText) (lower the rates or the duration)")
            }
        case .requests(let n):
            // Sources that end on their own give a count; the rest a long-run rate.
            var counted = 0.0, rate = 0.0, latestStart = 0.0, flipsPerSecond = 0.0
            for s in sources {
                let (c, _) = Self.expected(s.spec, until: .infinity)
                if c.isFinite {
                    counted += c
                    continue
                }
                latestStart = Swift.max(latestStart, s.spec.start)
                switch s.spec.process {
                case .constant(let r), .poisson(let r), .gamma(let r, _): rate += r
                case .onOff(let on, let off, let meanOn, let meanOff):
                    rate += (on * meanOn + off * meanOff) / (meanOn + meanOff)
                    flipsPerSecond += 2 / (meanOn + meanOff)
                case .ramp(_, let to, _): rate += to
                case .burst, .trace: break
                }
            }
            let missing = Double(n) - counted
            guard missing > 0, rate > 0 else { return }
            let span = latestStart + missing / rate
            if span > ScenarioBounds.maxSeconds {
                diag.report(list.mark, list.path, "the arrivals would take ~\(sci(span)) s to produce \(n) requests; "
                            + "limitlab simulates up to \(ScenarioBounds.maxSecondsText) of arrivals "
                            + "(raise the rates or lower requests)")
            } else if span * flipsPerSecond > cap {
                diag.report(list.mark, list.path, "the on-off arrivals would switch on and off ~\(sci(span * flipsPerSecond)) "
                            + "times to produce \(n) requests; limitlab allows up to 50,000,000 "
                            + "(lengthen mean_on and mean_off)")
            }
        }
    }
}
