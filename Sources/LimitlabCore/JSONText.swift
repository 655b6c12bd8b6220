/// JSON text written by hand on hot paths (the mock's responses, the live runner's request
/// bodies), where building a Foundation object graph per request would cost more than the work.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included (RFC 8259 escapes; other control
    /// characters as `\u00XX`).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
