/// Parsing and formatting of the unit-bearing values used in scenario files: durations
/// (`250ms`, `30s`, `5m`, `2h`, `1h30m`) and rates (`40/min`, `2/s`, `1000/h`).
public enum Units {
    /// Seconds for a duration string, or nil when it is not one. Units: `ms`, `s`, `m`/`min`,
    /// `h`; parts may be combined (`1m30s`). A bare number is rejected: units are mandatory so
    /// that `30` is never silently read as seconds when minutes were meant.
    public static func parseDuration(_ text: String) -> Double? {
        let s = text.trimmingWhitespace()
        guard !s.isEmpty else { return nil }
        var total = 0.0
        var index = s.startIndex
        var sawPart = false
        // Parts must go from larger to smaller units, each once (`1h30m`, not `30m1h` or `1h1h`).
        var lastScale = Double.infinity
        while index < s.endIndex {
            let numberStart = index
            while index < s.endIndex, s[index].isNumber || s[index] == "." { index = s.index(after: index) }
            guard numberStart < index, let value = Double(s[numberStart..<index]) else { return nil }
            let unitStart = index
            while index < s.endIndex, s[index].isLetter { index = s.index(after: index) }
            guard let scale = secondsPerUnit(String(s[unitStart..<index])) else { return nil }
            guard scale < lastScale else { return nil }
            lastScale = scale
            total += value * scale
            sawPart = true
        }
        return sawPart && total.isFinite ? total : nil
    }

    /// Events per second for a rate string like `40/min`, `2/s`, `1000/h`, or nil.
    public static func parseRate(_ text: String) -> Double? {
        let parts = text.trimmingWhitespace().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Double(parts[0].trimmingWhitespace()), count >= 0, count.isFinite
        else { return nil }
        let per: Double
        switch parts[1].trimmingWhitespace() {
        case "s", "sec", "second": per = 1
        case "min", "m", "minute": per = 60
        case "h", "hour": per = 3600
        default: return nil
        }
        return count / per
    }

    /// A compact human form of a duration in seconds (`250ms`, `30s`, `5m`, `2h`, `1m30s`).
    public static func formatDuration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(trim(seconds * 1000))ms" }
        if seconds < 60 { return "\(trim(seconds))s" }
        if seconds < 3600 {
            let m = (seconds / 60).rounded(.down)
            let rest = seconds - m * 60
            return rest < 0.0005 ? "\(Int(m))m" : "\(Int(m))m\(trim(rest))s"
        }
        let h = (seconds / 3600).rounded(.down)
        let rest = seconds - h * 3600
        return rest < 0.0005 ? "\(Int(h))h" : "\(Int(h))h\(formatDuration(rest))"
    }

    /// Rate per second shown per minute (`40/min`).
    /// Seconds in one duration unit of the scenario vocabulary (`ms`, `s`/`sec`, `m`/`min`, `h`);
    /// nil for anything else. The one table both duration readers use.
    public static func secondsPerUnit(_ unit: String) -> Double? {
        switch unit {
        case "ms": return 0.001
        case "s", "sec": return 1
        case "m", "min": return 60
        case "h": return 3600
        default: return nil
        }
    }

    public static func formatRate(_ perSecond: Double) -> String { "\(trim(perSecond * 60))/min" }

    static func trim(_ v: Double) -> String {
        let rounded = (v * 1000).rounded() / 1000
        // Whole numbers print without ".0"; beyond Int's range (or not finite) Double's own text.
        if rounded == rounded.rounded() && Swift.abs(rounded) < 1e15 { return String(Int(rounded)) }
        return String(rounded)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
