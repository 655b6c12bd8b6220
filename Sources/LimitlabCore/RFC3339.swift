/// RFC 3339 timestamps at second precision in UTC (`2026-04-25T23:34:23Z`), the format of the
/// `anthropic-ratelimit-*-reset` headers. Written by hand because it is a few lines of
/// calendar arithmetic and Foundation's formatters are slow and locale-sensitive.
public enum RFC3339 {
    /// Formats Unix seconds, rounding up to the next whole second (a reset is never early).
    public static func format(unixSeconds: Double) -> String {
        let total = Int64(unixSeconds.rounded(.up))
        var days = total / 86_400
        var secs = total % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }

    /// Howard Hinnant's days-from-civil inverse (proleptic Gregorian).
    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
