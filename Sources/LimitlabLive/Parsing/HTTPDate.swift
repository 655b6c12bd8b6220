import LimitlabCore

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the HTTP-date form of `retry-after`.
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ s: String) -> Double? {
        let parts = s.split(separator: " ")
        // Fields are range-checked before the arithmetic, which would otherwise overflow (and trap)
        // on a server's `Sun, 06 Nov 99999999999999999 08:49:37 GMT`.
        guard parts.count == 6, parts[5].uppercased() == "GMT", let d = Int(parts[1]), (1...31).contains(d),
              let m = months.firstIndex(of: parts[2].lowercased()), let y = Int(parts[3]), (0...9999).contains(y)
        else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let mi = Int(hms[1]), let sec = Int(hms[2]),
              (0..<24).contains(h), (0..<60).contains(mi), (0...60).contains(sec) else { return nil }
        return Double(CivilDate.days(year: y, month: m + 1, day: d) * 86_400 + h * 3600 + mi * 60 + sec)
    }
}
