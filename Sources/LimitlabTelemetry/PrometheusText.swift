/// Metrics read back from the Prometheus text exposition format (version 0.0.4,
/// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): what a
/// registry emitted, as values. The OTLP push converts a registry's own text through this, so
/// it pushes exactly what `/metrics` serves; tests read scrapes with it.
public struct PrometheusText: Sendable, Equatable {
    /// One sample line: `name{labels} value`.
    public struct Sample: Sendable, Equatable {
        public var name: String
        /// Labels in the order written, values unescaped.
        public var labels: [(String, String)]
        public var value: Double

        public init(name: String, labels: [(String, String)], value: Double) {
            self.name = name; self.labels = labels; self.value = value
        }

        public static func == (a: Sample, b: Sample) -> Bool {
            a.name == b.name && a.value.bitPattern == b.value.bitPattern && a.labels.count == b.labels.count
                && zip(a.labels, b.labels).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }

        /// The value of label `name`, or nil.
        public func label(_ name: String) -> String? { labels.first { $0.0 == name }?.1 }
    }

    /// A metric family: its `# TYPE` and `# HELP`, and its samples (a histogram's `_bucket`,
    /// `_sum` and `_count` lines included).
    public struct Family: Sendable, Equatable {
        public var name: String
        public var type: String
        public var help: String
        public var samples: [Sample]
    }

    /// Families in the order their `# TYPE` lines appear; untyped samples form "untyped" families.
    public var families: [Family]

    /// A malformed line, with its 1-based number.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "metrics text line \(line): \(reason)" }
    }

    /// Parses exposition text; throws on the first line that is not a comment, blank or sample.
    public init(parsing text: String) throws(ParseError) {
        var families: [Family] = []
        var index: [String: Int] = [:]
        func family(_ name: String) -> Int {
            if let i = index[name] { return i }
            families.append(Family(name: name, type: "untyped", help: "", samples: []))
            index[name] = families.count - 1
            return families.count - 1
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                guard parts.count >= 3 else { continue }
                if parts[1] == "TYPE" {
                    let i = family(String(parts[2]))
                    families[i].type = parts.count > 3 ? String(parts[3]) : "untyped"
                } else if parts[1] == "HELP" {
                    families[family(String(parts[2]))].help = parts.count > 3 ? Self.unescape(parts[3], quotes: false) : ""
                }
                continue
            }
            let sample = try Self.sample(Substring(line), line: n + 1)
            // A histogram's or summary's series belong to the family without the suffix.
            var owner = sample.name
            for suffix in ["_bucket", "_sum", "_count"] where owner.hasSuffix(suffix) {
                let base = String(owner.dropLast(suffix.count))
                if let i = index[base], ["histogram", "summary"].contains(families[i].type) { owner = base }
            }
            families[family(owner)].samples.append(sample)
        }
        self.families = families
    }

    /// The family named `name`, or nil.
    public func family(_ name: String) -> Family? { families.first { $0.name == name } }

    /// The sum of the samples named `name` whose labels include every pair of `matching`.
    public func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        var total = 0.0
        for f in families {
            for s in f.samples where s.name == name
                && matching.allSatisfy({ m in s.labels.contains { $0.0 == m.key && $0.1 == m.value } }) {
                total += s.value
            }
        }
        return total
    }

    private static func sample(_ line: Substring, line n: Int) throws(ParseError) -> Sample {
        var i = line.startIndex
        while i < line.endIndex, line[i] != "{", line[i] != " " { i = line.index(after: i) }
        let name = String(line[line.startIndex..<i])
        guard !name.isEmpty else { throw ParseError(line: n, reason: "no metric name") }
        var labels: [(String, String)] = []
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while true {
                while i < line.endIndex, line[i] == " " || line[i] == "," { i = line.index(after: i) }
                guard i < line.endIndex else { throw ParseError(line: n, reason: "unclosed label set") }
                if line[i] == "}" { i = line.index(after: i); break }
                let keyStart = i
                while i < line.endIndex, line[i] != "=" { i = line.index(after: i) }
                let key = line[keyStart..<i].trimmingSpaces()
                guard i < line.endIndex else { throw ParseError(line: n, reason: "label \(key) has no value") }
                i = line.index(after: i)
                guard i < line.endIndex, line[i] == "\"" else {
                    throw ParseError(line: n, reason: "label \(key): expected a quoted value")
                }
                i = line.index(after: i)
                let valueStart = i
                var escaped = false
                while i < line.endIndex, escaped || line[i] != "\"" {
                    escaped = !escaped && line[i] == "\\"
                    i = line.index(after: i)
                }
                guard i < line.endIndex else { throw ParseError(line: n, reason: "label \(key): unterminated value") }
                labels.append((key, unescape(line[valueStart..<i], quotes: true)))
                i = line.index(after: i)
            }
        }
        let rest = line[i...].split(separator: " ", omittingEmptySubsequences: true)
        guard let first = rest.first, let value = number(first) else {
            throw ParseError(line: n, reason: "sample \(name): expected a value")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func number(_ s: Substring) -> Double? {
        switch s {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(s)
        }
    }

    /// Undoes the format's escapes: `\\`, `\n`, and in label values `\"`.
    static func unescape(_ s: Substring, quotes: Bool) -> String {
        guard s.contains("\\") else { return String(s) }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "\\": out.append("\\")
                case "\"" where quotes: out.append("\"")
                default: out.append("\\"); out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
