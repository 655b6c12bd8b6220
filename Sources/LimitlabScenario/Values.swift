import LimitlabCore
import Yams

/// Bounds on what a scenario may ask for, so that every scenario `validate` accepts simulates
/// in bounded time and memory, and no value overflows the integer arithmetic downstream.
public enum ScenarioBounds {
    /// Requests one run may simulate (per strategy), and arrivals one scenario may produce.
    public static let maxRequests = 50_000_000
    /// Longest duration anywhere in a scenario, and the longest span of arrivals: 30 days.
    public static let maxSeconds = 30.0 * 86_400
    static let maxSecondsText = "720h, 30 days"
    /// Largest token count of one value (input, output, max_tokens, trace columns).
    public static let maxTokens = 100_000_000
    /// Largest `rpm`, `itpm` or `otpm`, per minute.
    public static let maxLimitPerMinute = 1e12
    /// Largest `burst` multiplier.
    public static let maxBurst = 1e6
    /// Most cached prefixes (prefix ids are 16-bit).
    public static let maxCachePrefixes = 32_767
    /// Smallest gamma `shape`: below it the draws underflow to zero gaps and time stops.
    public static let minGammaShape = 0.01
    /// Largest lognormal `sigma` (e^10 ≈ 22,000 between the median and one sigma up is already
    /// beyond any real latency or prompt spread).
    public static let maxLognormalSigma = 10.0
}

/// Allowed range of a numeric value, with how it reads in messages (`> 0`, `in 0...1`).
package struct NumberRange {
    package var min: Double
    package var minInclusive: Bool
    package var max: Double
    package var maxInclusive: Bool
    package var label: String

    package func contains(_ v: Double) -> Bool {
        (minInclusive ? v >= min : v > min) && (maxInclusive ? v <= max : v < max)
    }

    package static let any = NumberRange(min: -.infinity, minInclusive: true, max: .infinity, maxInclusive: true, label: "")
    package static let positive = NumberRange(min: 0, minInclusive: false, max: .infinity, maxInclusive: true, label: "> 0")
    package static let nonNegative = NumberRange(min: 0, minInclusive: true, max: .infinity, maxInclusive: true, label: "≥ 0")
    package static let unit = NumberRange(min: 0, minInclusive: true, max: 1, maxInclusive: true, label: "in 0...1")
    package static let openUnit = NumberRange(min: 0, minInclusive: false, max: 1, maxInclusive: true, label: "in (0, 1]")
    package static func closed(_ a: Double, _ b: Double) -> NumberRange {
        NumberRange(min: a, minInclusive: true, max: b, maxInclusive: true,
                    label: "in \(ParamValue.number(a))...\(ParamValue.number(b))")
    }
    package static func atLeast(_ a: Double) -> NumberRange {
        NumberRange(min: a, minInclusive: true, max: .infinity, maxInclusive: true, label: "≥ \(ParamValue.number(a))")
    }

    /// `a number > 0`, `a duration ≥ 0`.
    package func phrase(_ noun: String) -> String { label.isEmpty ? noun : "\(noun) \(label)" }
}

/// Parsing of scalar text. YAML's own typing is ignored: `"50"` and `50` read the same.
package enum ScalarText {
    /// A decimal number (`12`, `0.5`, `1e-3`, `30_000`); no hex, no `inf`/`nan`.
    package static func number(_ text: String) -> Double? {
        guard let t = cleaned(text, allowed: "0123456789.eE+-") else { return nil }
        guard let v = Double(t), v.isFinite else { return nil }
        return v
    }

    /// A decimal integer (`12`, `-3`, `30_000`).
    package static func integer(_ text: String) -> Int? {
        guard let t = cleaned(text, allowed: "0123456789+-") else { return nil }
        return Int(t)
    }

    package static func unsigned64(_ text: String) -> UInt64? {
        guard let t = cleaned(text, allowed: "0123456789+") else { return nil }
        return UInt64(t)
    }

    package static func bool(_ text: String) -> Bool? {
        switch text.strippingBlanks() {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// Trims blanks and drops `_` digit separators; nil when anything else than `allowed`
    /// characters (or no digit at all) is present.
    private static func cleaned(_ text: String, allowed: String) -> String? {
        let t = text.strippingBlanks()
        guard !t.isEmpty, t.contains(where: \.isASCIIDigit) else { return nil }
        var out = ""
        var previous: Character?
        for ch in t {
            if ch == "_" {
                guard let p = previous, p.isASCIIDigit else { return nil }
            } else if allowed.contains(ch) {
                out.append(ch)
            } else {
                return nil
            }
            previous = ch
        }
        return previous == "_" ? nil : out
    }

    /// A rate string (`4000/min`, `2/s`) per minute, computed without the round trip through
    /// per-second values so that `4000/min` is exactly 4000.
    package static func perMinute(_ text: String) -> Double? {
        guard let (count, per) = rateParts(text) else { return nil }
        switch per {
        case 1: return count * 60
        case 60: return count
        default: return count / (per / 60)
        }
    }

    /// A rate with a unit (`40/min`, `1_000/s`, `1e3/h`) in events per second. The count is a
    /// decimal `number` ≥ 0 (no hex, no `inf`).
    package static func rate(_ text: String) -> Double? {
        guard let (count, per) = rateParts(text) else { return nil }
        return count / per
    }

    private static func rateParts(_ text: String) -> (count: Double, per: Double)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = number(String(parts[0])), count >= 0 else { return nil }
        switch String(parts[1]).strippingBlanks() {
        case "s", "sec", "second": return (count, 1)
        case "min", "m", "minute": return (count, 60)
        case "h", "hour": return (count, 3600)
        default: return nil
        }
    }

    /// A duration with units (`250ms`, `1m30s`, `1e3s`, `1_000ms`) in seconds: decimal numbers
    /// as `number` reads them, each followed by a unit, larger units first, each unit once.
    package static func duration(_ text: String) -> Double? {
        let s = Array(text.strippingBlanks())
        guard !s.isEmpty else { return nil }
        var i = 0, total = 0.0, lastScale = Double.infinity
        while i < s.count {
            let start = i
            while i < s.count, s[i].isASCIIDigit || s[i] == "." || s[i] == "_" { i += 1 }
            // An exponent: `e`, an optional sign, digits (no unit starts with `e`).
            if i < s.count, s[i] == "e" || s[i] == "E" {
                var j = i + 1
                if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
                if j < s.count, s[j].isASCIIDigit {
                    while j < s.count, s[j].isASCIIDigit { j += 1 }
                    i = j
                }
            }
            guard start < i, let value = number(String(s[start..<i])), value >= 0 else { return nil }
            let unitStart = i
            while i < s.count, s[i].isLetter { i += 1 }
            guard let scale = Units.secondsPerUnit(String(s[unitStart..<i])) else { return nil }
            guard scale < lastScale else { return nil }
            lastScale = scale
            total += value * scale
        }
        return total.isFinite ? total : nil
    }

    /// `a/b` with numbers on both sides (`1/60`).
    package static func fraction(_ text: String) -> Double? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = number(String(parts[0])), let b = number(String(parts[1])), b != 0
        else { return nil }
        return a / b
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func strippingBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

// MARK: Typed reads with messages

extension Diagnostics {
    /// The scalar text of a field, or nil with `expected <expected>, found …` when it is a
    /// mapping, a list or empty.
    package func text(_ f: Field, expected: String) -> String? {
        guard case .scalar(let s) = f.node, !Found.isNull(s) else {
            report(f.mark, f.path, "expected \(expected), found \(Found.describe(f.node))")
            return nil
        }
        return s.string
    }

    /// Reads a scalar with `convert`; a nil conversion reports `expected <expected>, found "…"`.
    package func scalar<T>(_ f: Field, expected: String, hint: String = "", _ convert: (String) -> T?) -> T? {
        guard let t = text(f, expected: expected) else { return nil }
        guard let v = convert(t) else {
            report(f.mark, f.path, "expected \(expected), found \(Found.quote(t))\(hint)")
            return nil
        }
        return v
    }

    package func string(_ f: Field, expected: String = "a string") -> String? { text(f, expected: expected) }

    package func number(_ f: Field, _ range: NumberRange = .any) -> Double? {
        let expected = range.phrase("a number")
        return scalar(f, expected: expected) { t in ScalarText.number(t).flatMap { range.contains($0) ? $0 : nil } }
    }

    /// An integer in `min...max`; one above `cap` (a bound of limitlab's, not of the value's
    /// meaning) reads `expected an integer ≤ cap`.
    package func integer(_ f: Field, min: Int = .min, max: Int = .max, cap: Int? = nil) -> Int? {
        let expected: String
        if min == .min && max == .max { expected = "an integer" }
        else if max == .max { expected = "an integer ≥ \(min)" }
        else { expected = "an integer in \(min)...\(max)" }
        guard let v = scalar(f, expected: expected, { t in ScalarText.integer(t).flatMap { $0 >= min && $0 <= max ? $0 : nil } })
        else { return nil }
        if let cap, v > cap {
            report(f.mark, f.path, "expected an integer ≤ \(cap), found \(Found.describe(f.node))")
            return nil
        }
        return v
    }

    package func bool(_ f: Field) -> Bool? { scalar(f, expected: "true or false", ScalarText.bool) }

    static let durationExpected = "a duration like \"30s\" or \"250ms\""
    static func rateExpected(_ example: String) -> String { "a rate like \"\(example)\"" }

    /// Seconds. A value that is not a duration reads `expected a duration like "30s" or
    /// "250ms", found "…"`; one out of range `expected a duration > 0, found "0s"`.
    package func duration(_ f: Field, _ range: NumberRange = .nonNegative) -> Double? {
        let hint = { (t: String) -> String in
            ScalarText.number(t) != nil ? " (add a unit: \"\(t)s\", \"\(t)ms\" or \"\(t)m\")" : ""
        }
        guard let t = text(f, expected: Self.durationExpected) else { return nil }
        guard let v = ScalarText.duration(t) else {
            report(f.mark, f.path, "expected \(Self.durationExpected), found \(Found.quote(t))\(hint(t))")
            return nil
        }
        guard range.contains(v) else {
            report(f.mark, f.path, "expected \(range.phrase("a duration")), found \(Found.quote(t))")
            return nil
        }
        guard v <= ScenarioBounds.maxSeconds else {
            report(f.mark, f.path, "expected a duration of at most \(ScenarioBounds.maxSecondsText), found \(Found.quote(t))")
            return nil
        }
        return v
    }

    /// Events per second from a rate string with a unit (`40/min`, `2/s`).
    package func rate(_ f: Field, _ range: NumberRange = .positive, example: String = "40/min") -> Double? {
        let expected = Self.rateExpected(example)
        guard let t = text(f, expected: expected) else { return nil }
        guard let v = ScalarText.rate(t) else {
            let hint = ScalarText.number(t) != nil ? " (add a unit: \"\(t)/s\", \"\(t)/min\" or \"\(t)/h\")" : ""
            report(f.mark, f.path, "expected \(expected), found \(Found.quote(t))\(hint)")
            return nil
        }
        guard range.contains(v) else {
            report(f.mark, f.path, "expected \(range.phrase("a rate")), found \(Found.quote(t))")
            return nil
        }
        return v
    }

    /// Per minute: a plain number (already per minute) or a rate string converted.
    package func perMinute(_ f: Field) -> Double? {
        let expected = "a number per minute or a rate like \"50/min\""
        guard let t = text(f, expected: expected) else { return nil }
        let v: Double
        if let n = ScalarText.number(t) { v = n }
        else if let r = ScalarText.perMinute(t) { v = r }
        else {
            report(f.mark, f.path, "expected \(expected), found \(Found.quote(t))")
            return nil
        }
        guard v > 0 else {
            report(f.mark, f.path, "expected a limit > 0, found \(Found.quote(t))")
            return nil
        }
        guard v <= ScenarioBounds.maxLimitPerMinute else {
            report(f.mark, f.path, "expected a limit of at most 1e12 per minute, found \(Found.quote(t))")
            return nil
        }
        return v
    }

    /// A number or a fraction string (`1/60`), > 0.
    package func positiveFraction(_ f: Field) -> Double? {
        let expected = "a number in (0, 1e6] or a fraction like \"1/60\""
        return scalar(f, expected: expected) { t in
            (ScalarText.number(t) ?? ScalarText.fraction(t)).flatMap { $0 > 0 && $0 <= ScenarioBounds.maxBurst ? $0 : nil }
        }
    }

    /// One of `options`, with a did-you-mean.
    package func choice(_ f: Field, _ options: [String], what: String) -> String? {
        guard let t = text(f, expected: "one of: \(options.joined(separator: ", "))") else { return nil }
        guard options.contains(t) else {
            report(f.mark, f.path, Suggest.unknown(what, t, options))
            return nil
        }
        return t
    }
}
