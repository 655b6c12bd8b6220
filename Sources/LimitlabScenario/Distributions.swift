import Foundation
package import LimitlabCore
import Yams

/// What a distribution's values measure.
package enum Quantity {
    /// Token counts: plain numbers (integers for `constant` and `uniform`).
    case tokens
    /// Latencies: durations with units (`600ms`), stored in seconds.
    case latency
}

extension Diagnostics {
    static let distributionNames = ["constant", "uniform", "lognormal", "exponential", "empirical"]

    /// One value of a quantity: a token count or a duration.
    func quantity(_ f: Field, _ q: Quantity, _ range: NumberRange, integer wantInteger: Bool = false) -> Double? {
        switch q {
        case .latency:
            return duration(f, range)
        case .tokens:
            if wantInteger {
                let low = range.minInclusive ? Int(range.min.rounded(.up)) : Int(range.min.rounded(.down)) + 1
                return integer(f, min: low, cap: ScenarioBounds.maxTokens).map(Double.init)
            }
            guard let v = number(f, range) else { return nil }
            guard v <= Double(ScenarioBounds.maxTokens) else {
                report(f.mark, f.path, "expected a number ≤ \(ScenarioBounds.maxTokens), found \(Found.describe(f.node))")
                return nil
            }
            return v
        }
    }

    /// Parses quantity text outside YAML (a line of an empirical values file).
    func quantityText(_ text: String, _ q: Quantity) -> (Double?, String) {
        switch q {
        case .latency:
            if let v = ScalarText.duration(text) {
                if v <= ScenarioBounds.maxSeconds { return (v, "") }
                return (nil, "expected a duration of at most \(ScenarioBounds.maxSecondsText), found \(Found.quote(text))")
            }
            return (nil, "expected \(Self.durationExpected), found \(Found.quote(text))")
        case .tokens:
            if let v = ScalarText.number(text), v >= 0 {
                if v <= Double(ScenarioBounds.maxTokens) { return (v, "") }
                return (nil, "expected a number ≤ \(ScenarioBounds.maxTokens), found \(Found.quote(text))")
            }
            return (nil, "expected a number ≥ 0, found \(Found.quote(text))")
        }
    }

    /// A distribution as written: a bare value (constant) or a mapping with `dist:`.
    package func distribution(_ f: Field, _ q: Quantity) -> Sampled? {
        switch f.node {
        case .mapping:
            break
        case .sequence, .alias:
            let example = q == .tokens ? "400" : "\"600ms\""
            report(f.mark, f.path, "expected a value like \(example) or a mapping with dist:, found \(Found.describe(f.node))")
            return nil
        case .scalar:
            return quantity(f, q, .nonNegative, integer: q == .tokens).map { Sampled(.constant($0)) }
        }
        guard let m = MappingReader(f, expected: "a distribution", diag: self) else { return nil }
        guard let distField = m.require("dist") else { return nil }
        guard let dist = choice(distField, Self.distributionNames, what: "distribution") else { return nil }

        let clampKeys = ["min", "max"]
        switch dist {
        case "constant":
            m.checkKeys(["dist", "value"])
            guard let v = m.require("value").flatMap({ quantity($0, q, .nonNegative, integer: q == .tokens) })
            else { return nil }
            return Sampled(.constant(v))

        case "uniform":
            m.checkKeys(["dist", "min", "max"])
            let a = m.require("min").flatMap { quantity($0, q, .nonNegative, integer: q == .tokens) }
            let b = m.require("max").flatMap { quantity($0, q, .nonNegative, integer: q == .tokens) }
            guard let a, let b else { return nil }
            guard a <= b else {
                report(m["max"]?.mark, KeyPath.join(m.path, "max"),
                       "expected max ≥ min (\(format(a, q))), found \(m["max"].map { Found.describe($0.node) } ?? "")")
                return nil
            }
            return Sampled(.uniform(min: a, max: b))

        case "lognormal":
            m.checkKeys(["dist", "median", "sigma", "mean", "sd"] + clampKeys)
            let clamps = self.clamps(m, q)
            let medianForm = m.has("median") || m.has("sigma")
            let meanForm = m.has("mean") || m.has("sd")
            if medianForm && meanForm {
                let key = m.has("mean") ? "mean" : "sd"
                report(m.keyMark(key), KeyPath.join(m.path, key),
                       "give either median and sigma, or mean and sd, not both")
                return nil
            }
            if !medianForm && !meanForm {
                report(m.mark, m.path, "missing required key \"median\" (give median and sigma, or mean and sd)")
                return nil
            }
            if medianForm {
                let median = m.require("median").flatMap { quantity($0, q, .positive) }
                let sigma = m.require("sigma").flatMap { number($0, .closed(0, ScenarioBounds.maxLognormalSigma)) }
                guard let median, let sigma, let clamps else { return nil }
                return Sampled(.lognormal(mu: log(median), sigma: sigma), min: clamps.min, max: clamps.max)
            }
            let mean = m.require("mean").flatMap { quantity($0, q, .positive) }
            let sd = m.require("sd").flatMap { quantity($0, q, .nonNegative) }
            guard let mean, let sd, let clamps else { return nil }
            let p = Self.lognormalParameters(mean: mean, sd: sd)
            return Sampled(.lognormal(mu: p.mu, sigma: p.sigma), min: clamps.min, max: clamps.max)

        case "exponential":
            m.checkKeys(["dist", "mean"] + clampKeys)
            let clamps = self.clamps(m, q)
            guard let mean = m.require("mean").flatMap({ quantity($0, q, .positive) }), let clamps else { return nil }
            return Sampled(.exponential(mean: mean), min: clamps.min, max: clamps.max)

        default: // empirical
            m.checkKeys(["dist", "values", "file"] + clampKeys)
            let clamps = self.clamps(m, q)
            let values: [Double]?
            switch (m["values"], m["file"]) {
            case (.some, .some):
                report(m.keyMark("file"), KeyPath.join(m.path, "file"), "give either values or file, not both")
                return nil
            case (nil, nil):
                report(m.mark, m.path, "missing required key \"values\" (or give file: with one value per line)")
                return nil
            case (.some(let vf), nil):
                values = list(vf, expected: "a list of values").flatMap { items -> [Double]? in
                    if items.isEmpty {
                        report(vf.mark, vf.path, "expected at least one value, found an empty list")
                        return nil
                    }
                    let parsed = items.map { quantity($0, q, .nonNegative) }
                    return parsed.contains(where: { $0 == nil }) ? nil : parsed.compactMap { $0 }
                }
            case (nil, .some(let ff)):
                values = valuesFile(ff, q)
            }
            guard let values, let clamps else { return nil }
            return Sampled(.empirical(values), min: clamps.min, max: clamps.max)
        }
    }

    /// `mean`/`sd` of a lognormal → its `mu`/`sigma`: σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2.
    static func lognormalParameters(mean: Double, sd: Double) -> (mu: Double, sigma: Double) {
        let s2 = log(1 + (sd * sd) / (mean * mean))
        return (log(mean) - s2 / 2, s2.squareRoot())
    }

    /// Optional `min`/`max` clamps; nil when one of them is invalid.
    private func clamps(_ m: MappingReader, _ q: Quantity) -> (min: Double?, max: Double?)? {
        var ok = true
        var lo: Double?, hi: Double?
        if let f = m["min"] { lo = quantity(f, q, .nonNegative); ok = ok && lo != nil }
        if let f = m["max"] { hi = quantity(f, q, .nonNegative); ok = ok && hi != nil }
        if let lo, let hi, lo > hi, let f = m["max"] {
            report(f.mark, f.path, "expected max ≥ min (\(format(lo, q))), found \(Found.describe(f.node))")
            ok = false
        }
        return ok ? (lo, hi) : nil
    }

    private func format(_ v: Double, _ q: Quantity) -> String {
        q == .latency ? Units.formatDuration(v) : ParamValue.number(v).description
    }

    /// What is wrong with a line of a values file, without its content: a value out of range
    /// (`reason` names the bound before its "found"), or a line that is not a value at all.
    static func describeBadValueLine(_ line: String, _ q: Quantity, reason: String) -> String {
        let noun = q == .latency ? "duration" : "number"
        let parsed = q == .latency ? ScalarText.duration(line) != nil : ScalarText.number(line) != nil
        let size = "\(line.count) character\(line.count == 1 ? "" : "s")"
        if parsed, let bound = reason.range(of: ", found ").map({ String(reason[..<$0.lowerBound]) }) {
            return "\(bound), found a \(noun) outside that range (\(size); the line is not shown)"
        }
        return "expected one \(noun) per line, found a line of \(size) that is not one "
            + "(the line is not shown: is this a values file?)"
    }

    /// Values from a file: one per line, `#` comments and blank lines ignored.
    private func valuesFile(_ f: Field, _ q: Quantity) -> [Double]? {
        guard let relative = string(f, expected: "a file path") else { return nil }
        let name = displayName(relative)
        let text: String
        switch TextFile.contents(resolve(relative)) {
        case .failure(let reason):
            report(f.mark, f.path, "cannot read values file \(Found.quote(name, whole: true)): \(reason)")
            return nil
        case .success(let t):
            text = t
        }
        var values: [Double] = []
        var bad = 0, lastBad = 0
        for (index, raw) in TextFile.lines(text).enumerated() {
            let line = raw.strippingBlanks()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (v, message) = quantityText(line, q)
            if let v {
                values.append(v)
            } else {
                bad += 1
                lastBad = index + 1
                if bad <= TextFile.maxIssuesPerFile {
                    let column = raw.prefix(while: { $0 == " " || $0 == "\t" }).unicodeScalars.count + 1
                    // The file may be anything the scenario names (a mistyped path to a secret, and
                    // a secret may follow a line that reads as a number): describe the line by its
                    // place and shape, never quote it.
                    reportExternal(file: name, line: index + 1, column: column, path: f.path,
                                   message: Self.describeBadValueLine(line, q, reason: message), anchor: f.mark)
                }
            }
        }
        if bad > TextFile.maxIssuesPerFile {
            reportExternal(file: name, line: lastBad, column: 1, path: f.path,
                           message: "\(bad - TextFile.maxIssuesPerFile) more bad lines not shown, up to this line",
                           anchor: f.mark)
        }
        if bad > 0 { return nil }
        if values.isEmpty {
            report(f.mark, f.path, "values file \(Found.quote(name, whole: true)) holds no values")
            return nil
        }
        return values
    }
}
