#if canImport(Glibc)
import Glibc
#endif

/// A cursor over JSON text. Every method returns false (or nil) on a grammar error and leaves
/// the cursor somewhere undefined; callers give up at the first failure.
struct JSONReader {
    let b: UnsafeRawBufferPointer
    var i = 0
    /// Whether the last string `stringRange` read had an escape (so its raw bytes are not its text).
    private(set) var lastStringEscaped = false

    /// An object key: its raw bytes and whether they hold an escape.
    struct Key {
        var range: Range<Int>
        var escaped: Bool
    }

    init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    var atEnd: Bool { i >= b.count }
    /// The byte at the cursor, or 0 at the end.
    var peek: UInt8 { i < b.count ? b[i] : 0 }

    mutating func skipBlanks() {
        while i < b.count {
            let c = b[i]
            guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            i += 1
        }
    }

    /// `{ "key": value, … }` at the cursor; `member` is called with each key's raw (still
    /// escaped) bytes and the cursor on its value, which it must consume.
    mutating func object(depth: Int, _ member: (inout JSONReader, Key) -> Bool) -> Bool {
        guard depth <= MessageJSON.maxDepth, peek == 0x7B else { return false }
        i += 1
        skipBlanks()
        if peek == 0x7D { i += 1; return true }
        while true {
            skipBlanks()
            guard let raw = stringRange() else { return false }
            let key = Key(range: raw, escaped: lastStringEscaped)
            skipBlanks()
            guard peek == 0x3A else { return false }
            i += 1
            skipBlanks()
            guard member(&self, key) else { return false }
            skipBlanks()
            switch peek {
            case 0x2C: i += 1
            case 0x7D: i += 1; return true
            default: return false
            }
        }
    }

    /// Validates and skips one value.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth <= MessageJSON.maxDepth else { return false }
        switch peek {
        case 0x7B:
            return object(depth: depth) { r, _ in r.skipValue(depth: depth + 1) }
        case 0x5B:
            i += 1
            skipBlanks()
            if peek == 0x5D { i += 1; return true }
            while true {
                skipBlanks()
                guard skipValue(depth: depth + 1) else { return false }
                skipBlanks()
                switch peek {
                case 0x2C: i += 1
                case 0x5D: i += 1; return true
                default: return false
                }
            }
        case 0x22:
            return stringRange() != nil
        case 0x74: return literal("true")
        case 0x66: return literal("false")
        case 0x6E: return literal("null")
        default:
            return numberRange() != nil
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard b.count - i >= n else { return false }
        let ok = word.withUTF8Buffer { w in
            for k in 0..<n where b[i + k] != w[k] { return false }
            return true
        }
        i += n
        return ok
    }

    /// A string at the cursor: the range of its raw contents (between the quotes, escapes not
    /// decoded), after checking its escapes and that it has no control character.
    mutating func stringRange() -> Range<Int>? {
        guard peek == 0x22 else { return nil }
        i += 1
        let start = i
        var escaped = false
        let n = b.count
        while i < n {
            let c = b[i]
            if c == 0x22 {
                i += 1
                lastStringEscaped = escaped
                return start..<(i - 1)
            }
            if c < 0x20 { return nil }
            if c == 0x5C {
                escaped = true
                guard i + 1 < n else { return nil }
                switch b[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= n else { return nil }
                    for k in 2..<6 where Self.hex(b[i + k]) == nil { return nil }
                    i += 6
                default: return nil
                }
            } else {
                i += 1
            }
        }
        return nil
    }

    /// A number at the cursor (the RFC 8259 grammar): its range.
    mutating func numberRange() -> Range<Int>? {
        let start = i
        if peek == 0x2D { i += 1 }
        guard isDigit(peek) else { return nil }
        if peek == 0x30 { i += 1 } else { while isDigit(peek) { i += 1 } }
        if peek == 0x2E {
            i += 1
            guard isDigit(peek) else { return nil }
            while isDigit(peek) { i += 1 }
        }
        if peek == 0x65 || peek == 0x45 {
            i += 1
            if peek == 0x2B || peek == 0x2D { i += 1 }
            guard isDigit(peek) else { return nil }
            while isDigit(peek) { i += 1 }
        }
        return start..<i
    }

    @inline(__always) private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private static func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// Whether a key equals `name` once its escapes are decoded (`"us\u0061ge"` is `usage`).
    @inline(__always)
    func keyIs(_ key: Key, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        if !key.escaped {
            return key.range.count == n && memcmp(b.baseAddress! + key.range.lowerBound, name.utf8Start, n) == 0
        }
        // Only a key with an escape can still equal it, and it is longer when written.
        guard key.range.count > n else { return false }
        return decode(key.range).utf8.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: n))
    }

    /// The decoded text of a string's raw range. `\uXXXX` pairs become one scalar; a lone
    /// surrogate becomes U+FFFD.
    func decode(_ raw: Range<Int>) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: b[raw])
        guard bytes.contains(0x5C) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var k = 0
        func unit(at p: Int) -> UInt32 {
            var v: UInt32 = 0
            for q in p..<(p + 4) { v = v << 4 | (Self.hex(bytes[q]) ?? 0) }
            return v
        }
        func append(_ scalar: Unicode.Scalar) { out.append(contentsOf: Array(String(scalar).utf8)) }
        while k < bytes.count {
            let c = bytes[k]
            guard c == 0x5C, k + 1 < bytes.count else { out.append(c); k += 1; continue }
            let e = bytes[k + 1]
            k += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                guard k + 4 <= bytes.count else { return String(decoding: out, as: UTF8.self) }
                var u = unit(at: k)
                k += 4
                if u >= 0xD800 && u < 0xDC00, k + 6 <= bytes.count, bytes[k] == 0x5C, bytes[k + 1] == 0x75 {
                    let low = unit(at: k + 2)
                    if low >= 0xDC00 && low < 0xE000 {
                        u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                        k += 6
                    }
                }
                append(Unicode.Scalar(u) ?? "\u{FFFD}")
            default: out.append(e) // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The event a raw `type` string names.
    func classify(_ raw: Range<Int>) -> SSEParser.Event {
        let bytes = UnsafeRawBufferPointer(rebasing: b[raw])
        if !bytes.contains(0x5C) { return SSEParser.classify(bytes) }
        return SSEParser.classify(Array(decode(raw).utf8))
    }

    /// A string value into `out`; any other value is validated, skipped, and leaves `out` nil.
    mutating func optionalString(_ out: inout String?, depth: Int) -> Bool {
        guard peek == 0x22 else { out = nil; return skipValue(depth: depth) }
        guard let s = stringRange() else { return false }
        out = decode(s)
        return true
    }

    /// A `usage` object's token counts. A count that is not a non-negative integer (null, a
    /// fraction, a string) reads as not reported (-1); huge ones saturate at Int32.max.
    mutating func usage(into u: inout ReportedUsage, depth: Int) -> Bool {
        guard peek == 0x7B else { return skipValue(depth: depth) }
        return object(depth: depth) { r, key in
            if r.keyIs(key, "input_tokens") { return r.count(&u.input, depth: depth + 1) }
            if r.keyIs(key, "output_tokens") { return r.count(&u.output, depth: depth + 1) }
            if r.keyIs(key, "cache_creation_input_tokens") { return r.count(&u.cacheCreation, depth: depth + 1) }
            if r.keyIs(key, "cache_read_input_tokens") { return r.count(&u.cacheRead, depth: depth + 1) }
            return r.skipValue(depth: depth + 1)
        }
    }

    private mutating func count(_ out: inout Int, depth: Int) -> Bool {
        guard peek != 0x2D, isDigit(peek) else { out = -1; return skipValue(depth: depth) }
        guard let n = numberRange() else { return false }
        var v = 0
        for k in n {
            let c = b[k]
            guard isDigit(c) else { out = -1; return true } // a fraction or exponent
            v = Swift.min(v * 10 + Int(c - 0x30), Int(Int32.max))
        }
        out = v
        return true
    }
}
