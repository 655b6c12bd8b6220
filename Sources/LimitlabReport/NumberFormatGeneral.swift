import Foundation

extension NumberFormat {
    /// `value` to `significant` significant digits (`%g`: `0.99`, `1.25e+06`), the compact form of
    /// the check tables and JUnit, with more digits where `significant` would print it on or across
    /// `threshold` (0.98999995 against 0.99 prints `0.98999995`, never `0.99`).
    public static func general(_ value: Double, significant: Int = 6, threshold: Double? = nil) -> String {
        guard value.isFinite else { return fixed(value, 0) }
        var p = max(1, significant)
        var s = String(format: "%.\(p)g", value)
        guard let threshold, threshold.isFinite else { return s }
        let side = compare(value, threshold)
        while side != 0 && p < 17 && compare(printed(s), threshold) != side {
            p += 1
            s = String(format: "%.\(p)g", value)
        }
        return s
    }
}
