import Foundation

/// The one number formatter of every human-readable output (terminal tables, summary.md,
/// `compare`, `size`, `sweep`). Near a threshold it never rounds a value across it or onto it:
/// 0.98975 against a 0.99 target prints `98.975%`, not `99.0%`.
public enum NumberFormat {
    /// `value` with `digits` decimals (`%.Nf`, round half to even on the binary value). `-0.0`
    /// prints as `0.0`.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        let s = String(format: "%.\(max(0, digits))f", value)
        // A negative value that rounds to zero is not negative.
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
        return s
    }

    /// `value × scale` with at least `digits` decimals, and more where fewer would put the printed
    /// number on the other side of `threshold × scale` than the value itself (or onto it when the
    /// value is not on it): then the gap to the threshold is shown to two significant digits.
    /// `signed` adds a `+` to positive numbers.
    public static func decisive(_ value: Double, digits: Int, scale: Double = 1, threshold: Double? = nil,
                                signed: Bool = false) -> String {
        let v = value * scale
        func render(_ d: Int) -> String {
            let s = fixed(v, d)
            return signed && !s.hasPrefix("-") && v != 0 && Double(s) != 0 ? "+" + s : s
        }
        guard let threshold, v.isFinite, threshold.isFinite else { return render(digits) }
        let t = threshold * scale
        let side = compare(value, threshold)
        var d = max(0, digits)
        let gap = abs(v - t)
        // Two significant digits of the gap, then as many more as still needed (binary rounding).
        if side != 0 && gap > 0 {
            let wanted = Int((-log10(gap)).rounded(.down)) + 2
            if compare(printed(render(d)), t) != side { d = max(d, wanted) }
        }
        while d < 15 && side != 0 && compare(printed(render(d)), t) != side { d += 1 }
        return render(d)
    }

    /// A share as a percentage (`0.926` → `92.6%`), decisive against `threshold` (a share too).
    public static func percent(_ share: Double, digits: Int = 1, threshold: Double? = nil) -> String {
        decisive(share, digits: digits, scale: 100, threshold: threshold) + "%"
    }

    /// Seconds as `812ms` or `3.19s` (`space`: `812 ms`, `3.19 s`), decisive against `threshold`
    /// seconds; `-` (or `placeholder`) when nothing was measured (`count` 0).
    public static func seconds(_ s: Double, count: Int = 1, threshold: Double? = nil, space: Bool = false,
                               placeholder: String = "-") -> String {
        guard count > 0, s.isFinite else { return placeholder }
        let gap = space ? " " : ""
        if s < 1 && (threshold ?? 0) < 1 {
            return decisive(s, digits: 0, scale: 1000, threshold: threshold) + gap + "ms"
        }
        return decisive(s, digits: 2, threshold: threshold) + gap + "s"
    }

    /// Thousands grouped with commas (`30,000`); fractional values keep one decimal (`32,014.2`).
    public static func grouped(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return fixed(v, 0) }
        let text = v == v.rounded() ? fixed(v, 0) : fixed(v, 1)
        let negative = text.hasPrefix("-")
        let body = negative ? String(text.dropFirst()) : text
        let parts = body.split(separator: ".", maxSplits: 1)
        var out = ""
        for (k, ch) in parts[0].reversed().enumerated() {
            if k > 0 && k % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (negative ? "-" : "") + String(out.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// -1, 0 or 1: where `a` lies relative to `b`, equal within a relative 1e-12 (the printed
    /// number is parsed back, so binary noise must not count as a side).
    static func compare(_ a: Double, _ b: Double) -> Int {
        if abs(a - b) <= 1e-12 * max(abs(a), abs(b)) { return 0 }
        return a < b ? -1 : 1
    }

    static func printed(_ s: String) -> Double {
        Double(s.hasPrefix("+") ? String(s.dropFirst()) : s) ?? .nan
    }
}
