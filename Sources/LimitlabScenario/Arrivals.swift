import LimitlabCore
import Yams

/// One arrival source as read, with the fields later checks point at.
struct ReadArrival {
    var spec: ArrivalSpec
    var startField: Field?
    var atField: Field?
    /// The source's own entry in the list.
    var field: Field?
}

/// The `arrivals:` list as read.
struct ReadArrivals {
    /// The sources read without problems.
    var valid: [ReadArrival]
    /// Whether some source had a problem.
    var failed: Bool
    /// All sources, or nil when any had a problem.
    var sources: [ReadArrival]? { failed ? nil : valid }
    /// Every source is a `trace` or a `burst` (so the run length follows from them).
    var countable: Bool
    /// Arrivals those sources produce: trace rows plus burst counts.
    var total: Int
    /// Some source's process could not be read, so `countable` is unknown.
    var uncertain = false
}

extension Diagnostics {
    static let processNames = ["constant", "poisson", "gamma", "on-off", "burst", "ramp", "trace"]
    static let processKeys: [String: [String]] = [
        "constant": ["rate"],
        "poisson": ["rate"],
        "gamma": ["rate", "shape"],
        "on-off": ["rate_on", "rate_off", "mean_on", "mean_off"],
        "burst": ["count", "at", "over"],
        "ramp": ["from", "to", "over"],
        "trace": ["file"],
    ]
    static let commonArrivalKeys = ["process", "start", "end"]

    func arrivals(_ f: Field) -> ReadArrivals {
        guard let items = list(f, expected: "a list of arrival sources") else {
            return ReadArrivals(valid: [], failed: true, countable: false, total: 0)
        }
        if items.isEmpty {
            report(f.mark, f.path, "expected at least one arrival source, found an empty list")
            return ReadArrivals(valid: [], failed: true, countable: false, total: 0)
        }
        var sources: [ReadArrival] = []
        var failed = false
        var countable = true
        var total = 0
        var uncertain = false
        for item in items {
            let (source, process) = arrival(item)
            if process == nil { uncertain = true }
            else if process != "trace" && process != "burst" { countable = false }
            if let source {
                sources.append(source)
                switch source.spec.process {
                case .trace(_, let rows): total += rows.count
                case .burst(_, let count, _): total += count
                default: break
                }
            } else {
                failed = true
            }
        }
        return ReadArrivals(valid: sources, failed: failed, countable: countable, total: total,
                            uncertain: uncertain && countable)
    }

    /// One source, and its process name when that was readable.
    private func arrival(_ item: Field) -> (ReadArrival?, String?) {
        guard let m = MappingReader(item, expected: "an arrival source (a mapping with process:)", diag: self)
        else { return (nil, nil) }
        let process = m.require("process").flatMap { choice($0, Self.processNames, what: "process") }
        if let process { m.checkKeys(Self.commonArrivalKeys + Self.processKeys[process]!) }

        var ok = process != nil
        let startField = m["start"]
        var start = 0.0
        if let f = startField {
            if let v = duration(f, .nonNegative) { start = v } else { ok = false }
        }
        var end: Double?
        if let f = m["end"] {
            if let v = duration(f, .positive) {
                if v <= start {
                    report(f.mark, f.path, "expected a duration after start (\(Units.formatDuration(start))), found \(Found.describe(f.node))")
                    ok = false
                } else {
                    end = v
                }
            } else {
                ok = false
            }
        }
        guard let process else { return (nil, nil) }

        func need<T>(_ key: String, _ read: (Field) -> T?) -> T? {
            guard let f = m.require(key) else { ok = false; return nil }
            let v = read(f)
            if v == nil { ok = false }
            return v
        }
        func optional<T>(_ key: String, _ fallback: T, _ read: (Field) -> T?) -> T {
            guard let f = m[key] else { return fallback }
            if let v = read(f) { return v }
            ok = false
            return fallback
        }

        var arrivalProcess: ArrivalProcess?
        var atField: Field?
        switch process {
        case "constant", "poisson":
            if let r = need("rate", { self.rate($0) }) {
                arrivalProcess = process == "constant" ? .constant(rate: r) : .poisson(rate: r)
            }
        case "gamma":
            let r = need("rate", { self.rate($0) })
            let shape = need("shape", { self.number($0, .closed(ScenarioBounds.minGammaShape, 1e6)) })
            if let r, let shape { arrivalProcess = .gamma(rate: r, shape: shape) }
        case "on-off":
            let on = need("rate_on", { rate($0) })
            let off = optional("rate_off", 0.0, { rate($0, .nonNegative) })
            let meanOn = need("mean_on", { duration($0, .positive) })
            let meanOff = need("mean_off", { duration($0, .positive) })
            if let on, let meanOn, let meanOff {
                arrivalProcess = .onOff(rateOn: on, rateOff: off, meanOn: meanOn, meanOff: meanOff)
            }
        case "burst":
            let count = need("count", { integer($0, min: 1, cap: ScenarioBounds.maxRequests) })
            atField = m["at"]
            let at = optional("at", 0.0, { duration($0, .nonNegative) })
            let over = optional("over", 0.0, { duration($0, .nonNegative) })
            if let count { arrivalProcess = .burst(at: at, count: count, over: over) }
        case "ramp":
            let from = need("from", { rate($0, .nonNegative) })
            let to = need("to", { rate($0, .nonNegative) })
            let over = need("over", { duration($0, .positive) })
            if let from, let to, from == 0, to == 0, let f = m["to"] {
                report(f.mark, f.path, "expected a rate > 0 when from is 0 (a ramp from 0 to 0 sends nothing), found \(Found.describe(f.node))")
                ok = false
            }
            if let from, let to, let over { arrivalProcess = .ramp(from: from, to: to, over: over) }
        default: // trace
            if let t = need("file", { trace($0) }) { arrivalProcess = .trace(path: t.path, rows: t.rows) }
        }
        guard ok, let arrivalProcess else { return (nil, process) }
        return (ReadArrival(spec: ArrivalSpec(arrivalProcess, start: start, end: end),
                            startField: startField, atField: atField, field: item), process)
    }
}
