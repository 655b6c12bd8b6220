import Foundation
public import LimitlabCore
import Yams

// The YAML reader of the mock's config. It speaks a scenario's vocabulary for `limits` and
// `server` (docs/scenarios.md) and reports the same way: every problem, located as
// `file:line:column: key.path: expected …, found …`. LimitlabScenario keeps its readers
// internal, so the few value readers needed here are written again, message for message.

extension MockConfig {
    /// Reads and validates a config file (format: docs/mock-server.md).
    public static func load(path: String, catalog: TierCatalog = .builtIn) throws(MockError) -> MockConfig {
        let text: String
        guard FileManager.default.fileExists(atPath: path) else {
            throw MockError(.config, "cannot read mock config \"\(path)\": no such file")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let t = String(data: data, encoding: .utf8) else {
                throw MockError(.config, "\(path): the file is not UTF-8 text")
            }
            text = t
        } catch let e as MockError {
            throw e
        } catch {
            throw MockError(.config, "cannot read mock config \"\(path)\": \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: path, catalog: catalog)
    }

    /// Parses config YAML; `file` names the source in messages.
    public static func parse(yaml: String, file: String, catalog: TierCatalog = .builtIn) throws(MockError) -> MockConfig {
        let reader = ConfigReader(file: file, catalog: catalog)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            reader.yamlError(error)
            throw MockError(.config, reader.issues.joined(separator: "\n"))
        } catch {
            throw MockError(.config, "\(file):1:1: YAML syntax error: \(error)")
        }
        let config = reader.read(root)
        if !reader.issues.isEmpty || config == nil {
            throw MockError(.config, reader.issues.isEmpty ? "\(file): invalid config" : reader.issues.joined(separator: "\n"))
        }
        return config!
    }
}

/// Collects problems while one config document is read.
final class ConfigReader {
    let file: String
    let catalog: TierCatalog
    private var entries: [(line: Int, column: Int, order: Int, text: String)] = []

    /// Every problem, in file order.
    var issues: [String] {
        entries.sorted { ($0.line, $0.column, $0.order) < ($1.line, $1.column, $1.order) }.map(\.text)
    }

    init(file: String, catalog: TierCatalog) {
        self.file = file
        self.catalog = catalog
    }

    func report(_ mark: Mark?, _ path: String, _ message: String) {
        report(line: mark?.line ?? 0, column: mark?.column ?? 0, path, message)
    }

    func report(line: Int, column: Int, _ path: String, _ message: String) {
        let where_ = "\(file):\(line):\(column)"
        entries.append((line, column, entries.count,
                        path.isEmpty ? "\(where_): \(message)" : "\(where_): \(path): \(message)"))
    }

    func yamlError(_ error: YamlError) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            report(mark, "", "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let keys, let context):
            report(context.mark, "", "duplicate key \(Self.quote(keys.first ?? "?")) in this mapping")
        default:
            report(nil, "", "YAML syntax error: \(error)")
        }
    }

    // MARK: Document

    static let topKeys = ["seed", "max_body_bytes", "default_output_tokens", "orgs", "server", "faults", "cache", "batches"]

    func read(_ root: Node?) -> MockConfig? {
        guard let root else {
            report(line: 1, column: 1, "", "the file is empty; expected a mapping with orgs: (and optionally "
                   + "server:, faults:, cache:, seed:)")
            return nil
        }
        guard let m = Map(root, "", expected: "a mapping of mock settings", self) else { return nil }
        m.check(Self.topKeys)
        var config = MockConfig(organizations: [])
        if let f = m["seed"], let v = unsigned(f) { config.seed = v }
        if let f = m["max_body_bytes"], let v = integer(f, min: 1) { config.maxBodyBytes = v }
        if let f = m["default_output_tokens"], let v = integer(f, min: 0) { config.defaultOutputTokens = v }
        if let f = m["server"], let v = server(f) { config.server = v }
        if let f = m["faults"], let v = faults(f) { config.faults = v }
        if let f = m["cache"], let v = cache(f) { config.cache = v }
        if let f = m["batches"], let v = batches(f) { config.batches = v }
        if let f = m.require("orgs"), let v = orgs(f) { config.organizations = v }
        return issues.isEmpty ? config : nil
    }

    // MARK: Organisations

    private func orgs(_ f: Field) -> [MockOrganization]? {
        guard let items = list(f, expected: "a list of organisations (each with keys: and limits:)") else { return nil }
        guard !items.isEmpty else {
            report(f.mark, f.path, "expected at least one organisation, found an empty list")
            return nil
        }
        var out: [MockOrganization] = []
        var keyOwner: [String: String] = [:]
        var anyKeyOrg: String?
        var ids: Set<String> = []
        for (i, item) in items.enumerated() {
            guard let m = Map(item, expected: "a mapping with keys: and limits:", self) else { continue }
            m.check(["id", "keys", "any_key", "limits", "models", "count_tokens_rpm", "spend_cap"])
            let id = m["id"].flatMap { text($0, expected: "an organisation id") } ?? MockOrganization.defaultId(index: i)
            if !ids.insert(id).inserted, let idf = m["id"] {
                report(idf.mark, idf.path, "organisation id \(Self.quote(id)) is already used by another organisation")
            }
            var keys: [String] = []
            if let kf = m["keys"], let list = list(kf, expected: "a list of API keys") {
                for k in list {
                    guard let key = text(k, expected: "an API key") else { continue }
                    guard !key.isEmpty else { report(k.mark, k.path, "expected a non-empty API key"); continue }
                    // Never echo a key: name its position only.
                    if let owner = keyOwner[key] {
                        report(k.mark, k.path, "this API key is already listed under \(owner)")
                        continue
                    }
                    keyOwner[key] = k.path
                    keys.append(key)
                }
            }
            let anyKey = m["any_key"].flatMap(bool) ?? false
            if anyKey {
                if let earlier = anyKeyOrg, let af = m["any_key"] {
                    report(af.mark, af.path, "only one organisation may accept any key; \(earlier) already does")
                }
                anyKeyOrg = KeyPathText.index(f.path, i)
            }
            if keys.isEmpty && !anyKey {
                report(m.mark, m.path, "missing required key \"keys\" (a list of API keys), or set any_key: true")
            }
            let models = m["models"].flatMap(modelOverrides) ?? [:]
            var limits = m.require("limits").flatMap(self.limits)
            limits?.models = models
            let ctRPM = m["count_tokens_rpm"].flatMap(perMinute)
            let spendCap = m["spend_cap"].flatMap(bool) ?? false
            if let limits {
                out.append(MockOrganization(id: id, keys: keys, acceptsAnyKey: anyKey, limits: limits,
                                            countTokensRPM: ctRPM, spendCapReached: spendCap))
            }
        }
        return out.count == items.count ? out : nil
    }

    private func limits(_ f: Field) -> MockLimits? {
        guard let m = Map(f, expected: "a mapping of limits (tier:, or rpm:, itpm: and otpm:)", self) else { return nil }
        if m.has("keys") {
            report(m.keyMark("keys"), KeyPathText.join(m.path, "keys"),
                   "limits.keys is a scenario setting; in the mock, list several organisations under orgs: instead")
        }
        m.check(["tier", "rpm", "itpm", "otpm", "burst", "admission", "output_accounting", "cache_reads_count", "keys"])
        var l = MockLimits()
        var ok = true
        func read<T>(_ key: String, _ r: (Field) -> T?) -> T? {
            guard let f = m[key] else { return nil }
            let v = r(f)
            if v == nil { ok = false }
            return v
        }
        l.rpm = read("rpm", perMinute)
        l.itpm = read("itpm", perMinute)
        l.otpm = read("otpm", perMinute)
        l.burst = read("burst", positiveFraction) ?? 1
        l.admission = read("admission") {
            choice($0, AdmissionRule.allCases.map(\.rawValue), what: "admission rule").flatMap(AdmissionRule.init(rawValue:))
        } ?? .positiveBalance
        l.outputAccounting = read("output_accounting") {
            choice($0, OutputAccounting.allCases.map(\.rawValue), what: "output accounting").flatMap(OutputAccounting.init(rawValue:))
        } ?? .realtime
        l.cacheReadsCount = read("cache_reads_count", bool)
        if let tf = m["tier"] {
            guard let t = text(tf, expected: "a tier id like \"tier-1\"") else { return nil }
            guard let tier = catalog.tier(named: t) else {
                let known = catalog.tierIds()
                report(tf.mark, tf.path, "unknown tier \(Self.quote(t)); known tiers: \(known.joined(separator: ", "))")
                return nil
            }
            l.tier = tier.id
        } else {
            for key in ["rpm", "itpm", "otpm"] where !m.has(key) {
                report(m.mark, m.path, "missing required key \(Self.quote(key)) (give tier:, or rpm:, itpm: and otpm:)")
                ok = false
            }
        }
        return ok ? l : nil
    }

    /// `models:` — per-class overrides keyed by class id, by a catalog model id (mapped to its
    /// class), or by the exact id of a model outside the catalog.
    private func modelOverrides(_ f: Field) -> [String: MockLimitOverride]? {
        guard let m = Map(f, expected: "a mapping from model class (or model id) to limits", self) else { return nil }
        var out: [String: MockLimitOverride] = [:]
        var ok = true
        for name in m.keys {
            guard let vf = m[name], let vm = Map(vf, expected: "a mapping with rpm:, itpm:, otpm: or cache_reads_count:", self)
            else { ok = false; continue }
            vm.check(["rpm", "itpm", "otpm", "cache_reads_count"])
            var o = MockLimitOverride()
            if let x = vm["rpm"] { o.rpm = perMinute(x); ok = ok && o.rpm != nil }
            if let x = vm["itpm"] { o.itpm = perMinute(x); ok = ok && o.itpm != nil }
            if let x = vm["otpm"] { o.otpm = perMinute(x); ok = ok && o.otpm != nil }
            if let x = vm["cache_reads_count"] { o.cacheReadsCount = bool(x); ok = ok && o.cacheReadsCount != nil }
            let id = catalog.modelClass(for: name)?.id ?? name
            if catalog.modelClass(for: name) == nil && (o.rpm == nil || o.itpm == nil || o.otpm == nil) && ok {
                let classes = catalog.modelClasses.map(\.id).joined(separator: ", ")
                report(m.keyMark(name), KeyPathText.join(m.path, name),
                       "\(Self.quote(name)) is not a model class or model in the catalog (classes: \(classes)); "
                       + "to serve it as an extra model give all of rpm, itpm and otpm")
                ok = false
            }
            out[id] = o
        }
        return ok ? out : nil
    }

    // MARK: server (a scenario's vocabulary)

    private func server(_ f: Field) -> ServerModel? {
        guard let m = Map(f, expected: "a mapping of server settings", self) else { return nil }
        m.check(["ttft", "output_rate", "prefill_rate", "reject_latency", "overload"])
        var s = ServerModel()
        var ok = true
        if let x = m["ttft"] { if let v = distribution(x) { s.ttft = v } else { ok = false } }
        if let x = m["output_rate"] { if let v = rate(x, example: "60/s") { s.outputTokensPerSecond = v } else { ok = false } }
        if let x = m["prefill_rate"] { if let v = rate(x, example: "5000/s") { s.prefillTokensPerSecond = v } else { ok = false } }
        if let x = m["reject_latency"] { if let v = duration(x) { s.rejectLatency = v } else { ok = false } }
        if let x = m["overload"] { if let v = overload(x) { s.overload = v } else { ok = false } }
        return ok ? s : nil
    }

    private func overload(_ f: Field) -> OverloadModel? {
        guard let m = Map(f, expected: "a mapping of overload settings", self) else { return nil }
        m.check(["probability", "rise_from", "rise_to", "max_probability"])
        var o = OverloadModel()
        var ok = true
        if let x = m["probability"] { if let v = number(x, min: 0, max: 1) { o.probability = v } else { ok = false } }
        if let x = m["max_probability"] { if let v = number(x, min: 0, max: 1) { o.maxProbability = v } else { ok = false } }
        switch (m["rise_from"], m["rise_to"]) {
        case (nil, nil): break
        case (.some, nil):
            report(m.mark, m.path, "missing required key \"rise_to\" (rise_from and rise_to go together)"); ok = false
        case (nil, .some):
            report(m.mark, m.path, "missing required key \"rise_from\" (rise_from and rise_to go together)"); ok = false
        case (.some(let ff), .some(let tf)):
            if let from = integer(ff, min: 0), let to = integer(tf, min: 0) {
                if to <= from {
                    report(tf.mark, tf.path, "expected an integer > rise_from (\(from)), found \(Self.describe(tf.node))")
                    ok = false
                } else {
                    o.riseFrom = from; o.riseTo = to
                }
            } else { ok = false }
        }
        return ok ? o : nil
    }

    private func faults(_ f: Field) -> MockFaults? {
        guard let m = Map(f, expected: "a mapping of fault probabilities", self) else { return nil }
        m.check(["server_error", "stream_error", "connection_reset", "stall", "stall_duration"])
        var x = MockFaults()
        var ok = true
        func p(_ key: String, _ path: WritableKeyPath<MockFaults, Double>) {
            guard let f = m[key] else { return }
            if let v = number(f, min: 0, max: 1) { x[keyPath: path] = v } else { ok = false }
        }
        p("server_error", \.serverError)
        p("stream_error", \.streamError)
        p("connection_reset", \.connectionReset)
        p("stall", \.stall)
        if let f = m["stall_duration"] { if let v = duration(f) { x.stallDuration = v } else { ok = false } }
        return ok ? x : nil
    }

    private func cache(_ f: Field) -> MockCacheSettings? {
        guard let m = Map(f, expected: "a mapping of prompt-cache settings", self) else { return nil }
        m.check(["ttl_5m", "ttl_1h", "min_cacheable_tokens"])
        var c = MockCacheSettings()
        var ok = true
        if let x = m["ttl_5m"] { if let v = duration(x, positive: true) { c.ttl5m = v } else { ok = false } }
        if let x = m["ttl_1h"] { if let v = duration(x, positive: true) { c.ttl1h = v } else { ok = false } }
        if let x = m["min_cacheable_tokens"] { if let v = integer(x, min: 0) { c.minCacheableTokens = v } else { ok = false } }
        return ok ? c : nil
    }

    private func batches(_ f: Field) -> MockBatchSettings? {
        guard let m = Map(f, expected: "a mapping of Message Batches settings", self) else { return nil }
        m.check(["requests_per_second", "expiry", "rpm", "queue"])
        var b = MockBatchSettings()
        var ok = true
        if let x = m["requests_per_second"] {
            if let v = number(x, min: 1e-9) { b.requestsPerSecond = v } else { ok = false }
        }
        if let x = m["expiry"] { if let v = duration(x, positive: true) { b.expiry = v } else { ok = false } }
        if let x = m["rpm"] { if let v = perMinute(x) { b.rpm = v } else { ok = false } }
        if let x = m["queue"] { if let v = integer(x, min: 0) { b.queue = v } else { ok = false } }
        return ok ? b : nil
    }

    // MARK: Values

    func list(_ f: Field, expected: String) -> [Field]? {
        guard case .sequence(let seq) = f.node else {
            report(f.mark, f.path, "expected \(expected), found \(Self.describe(f.node))")
            return nil
        }
        return seq.enumerated().map { Field(node: $0.element, path: KeyPathText.index(f.path, $0.offset)) }
    }

    func text(_ f: Field, expected: String) -> String? {
        guard case .scalar(let s) = f.node, !Self.isNull(s) else {
            report(f.mark, f.path, "expected \(expected), found \(Self.describe(f.node))")
            return nil
        }
        return s.string
    }

    func scalar<T>(_ f: Field, expected: String, hint: (String) -> String = { _ in "" }, _ convert: (String) -> T?) -> T? {
        guard let t = text(f, expected: expected) else { return nil }
        guard let v = convert(t) else {
            report(f.mark, f.path, "expected \(expected), found \(Self.quote(t))\(hint(t))")
            return nil
        }
        return v
    }

    func number(_ f: Field, min: Double = -.infinity, max: Double = .infinity) -> Double? {
        let expected = min == 0 && max == 1 ? "a number in 0...1" : (min == 0 ? "a number ≥ 0" : "a number")
        return scalar(f, expected: expected) { t in Self.number(t).flatMap { $0 >= min && $0 <= max ? $0 : nil } }
    }

    func integer(_ f: Field, min: Int) -> Int? {
        scalar(f, expected: "an integer ≥ \(min)") { t in Self.integer(t).flatMap { $0 >= min ? $0 : nil } }
    }

    func unsigned(_ f: Field) -> UInt64? {
        scalar(f, expected: "an integer in 0...\(UInt64.max)") { t in
            Self.clean(t, allowed: "0123456789+").flatMap { UInt64($0) }
        }
    }

    func bool(_ f: Field) -> Bool? {
        scalar(f, expected: "true or false") { t in
            switch t { case "true", "True", "TRUE": return true; case "false", "False", "FALSE": return false; default: return nil }
        }
    }

    func choice(_ f: Field, _ options: [String], what: String) -> String? {
        guard let t = text(f, expected: "one of: \(options.joined(separator: ", "))") else { return nil }
        guard options.contains(t) else {
            report(f.mark, f.path, "unknown \(what) \(Self.quote(t)); expected one of: \(options.joined(separator: ", "))")
            return nil
        }
        return t
    }

    func duration(_ f: Field, positive: Bool = false) -> Double? {
        let expected = "a duration like \"30s\" or \"250ms\""
        guard let t = text(f, expected: expected) else { return nil }
        guard let v = Units.parseDuration(t) else {
            let hint = Self.number(t) != nil ? " (add a unit: \"\(t)s\", \"\(t)ms\" or \"\(t)m\")" : ""
            report(f.mark, f.path, "expected \(expected), found \(Self.quote(t))\(hint)")
            return nil
        }
        if positive && v <= 0 || v < 0 {
            report(f.mark, f.path, "expected a duration \(positive ? "> 0" : "≥ 0"), found \(Self.quote(t))")
            return nil
        }
        return v
    }

    func rate(_ f: Field, example: String) -> Double? {
        let expected = "a rate like \"\(example)\""
        guard let t = text(f, expected: expected) else { return nil }
        guard let v = Units.parseRate(t) else {
            let hint = Self.number(t) != nil ? " (add a unit: \"\(t)/s\", \"\(t)/min\" or \"\(t)/h\")" : ""
            report(f.mark, f.path, "expected \(expected), found \(Self.quote(t))\(hint)")
            return nil
        }
        guard v > 0 else {
            report(f.mark, f.path, "expected a rate > 0, found \(Self.quote(t))")
            return nil
        }
        return v
    }

    /// Per minute: a plain number, or a rate string converted (`"1/s"` = 60).
    func perMinute(_ f: Field) -> Double? {
        let expected = "a number per minute or a rate like \"50/min\""
        guard let t = text(f, expected: expected) else { return nil }
        let v: Double
        if let n = Self.number(t) { v = n } else if let r = Units.parseRate(t) { v = r * 60 } else {
            report(f.mark, f.path, "expected \(expected), found \(Self.quote(t))")
            return nil
        }
        guard v > 0 else {
            report(f.mark, f.path, "expected a limit > 0, found \(Self.quote(t))")
            return nil
        }
        // `4000/min` must stay exactly 4000, not 4000 ± the per-second round trip.
        return (v * 1e6).rounded() / 1e6
    }

    func positiveFraction(_ f: Field) -> Double? {
        scalar(f, expected: "a number > 0 or a fraction like \"1/60\"") { t in
            let v: Double?
            let parts = t.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2, let a = Self.number(String(parts[0])), let b = Self.number(String(parts[1])), b != 0 {
                v = a / b
            } else {
                v = Self.number(t)
            }
            return v.flatMap { $0 > 0 ? $0 : nil }
        }
    }

    /// A latency distribution as in a scenario: a duration (constant) or `{dist: …}`.
    /// `empirical` takes inline `values:` only (no `file:`).
    func distribution(_ f: Field) -> Sampled? {
        if case .scalar = f.node { return duration(f).map { Sampled(.constant($0)) } }
        guard let m = Map(f, expected: "a duration like \"600ms\" or a mapping with dist:", self) else { return nil }
        guard let df = m.require("dist"),
              let dist = choice(df, ["constant", "uniform", "lognormal", "exponential", "empirical"], what: "distribution")
        else { return nil }
        func clamps() -> (Double?, Double?)? {
            let lo = m["min"].map { duration($0) }
            let hi = m["max"].map { duration($0) }
            if lo == .some(nil) || hi == .some(nil) { return nil }
            if let a = lo ?? nil, let b = hi ?? nil, a > b, let mf = m["max"] {
                report(mf.mark, mf.path, "expected max ≥ min (\(Units.formatDuration(a))), found \(Self.describe(mf.node))")
                return nil
            }
            return (lo ?? nil, hi ?? nil)
        }
        switch dist {
        case "constant":
            m.check(["dist", "value"])
            return m.require("value").flatMap { duration($0) }.map { Sampled(.constant($0)) }
        case "uniform":
            m.check(["dist", "min", "max"])
            guard let a = m.require("min").flatMap({ duration($0) }), let b = m.require("max").flatMap({ duration($0) })
            else { return nil }
            guard a <= b else {
                report(m["max"]?.mark, KeyPathText.join(m.path, "max"), "expected max ≥ min (\(Units.formatDuration(a)))")
                return nil
            }
            return Sampled(.uniform(min: a, max: b))
        case "lognormal":
            m.check(["dist", "median", "sigma", "mean", "sd", "min", "max"])
            guard let c = clamps() else { return nil }
            if m.has("median") || m.has("sigma") {
                if m.has("mean") || m.has("sd") {
                    report(m.mark, m.path, "give either median and sigma, or mean and sd, not both")
                    return nil
                }
                guard let med = m.require("median").flatMap({ duration($0, positive: true) }),
                      let sigma = m.require("sigma").flatMap({ number($0, min: 0) })
                else { return nil }
                return Sampled(.lognormal(mu: log(med), sigma: sigma), min: c.0, max: c.1)
            }
            guard let mean = m.require("mean").flatMap({ duration($0, positive: true) }),
                  let sd = m.require("sd").flatMap({ duration($0) })
            else { return nil }
            // Same conversion as a scenario: σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2.
            let s2 = log(1 + sd * sd / (mean * mean))
            return Sampled(.lognormal(mu: log(mean) - s2 / 2, sigma: s2.squareRoot()), min: c.0, max: c.1)
        case "exponential":
            m.check(["dist", "mean", "min", "max"])
            guard let c = clamps(), let mean = m.require("mean").flatMap({ duration($0, positive: true) }) else { return nil }
            return Sampled(.exponential(mean: mean), min: c.0, max: c.1)
        default:
            m.check(["dist", "values", "min", "max"])
            guard let c = clamps(), let vf = m.require("values"), let items = list(vf, expected: "a list of durations")
            else { return nil }
            guard !items.isEmpty else {
                report(vf.mark, vf.path, "expected at least one value, found an empty list")
                return nil
            }
            let values = items.map { duration($0) }
            if values.contains(where: { $0 == nil }) { return nil }
            return Sampled(.empirical(values.compactMap { $0 }), min: c.0, max: c.1)
        }
    }

    // MARK: Text helpers (the scenario reader's rules: YAML typing plays no part)

    static func number(_ text: String) -> Double? {
        clean(text, allowed: "0123456789.eE+-").flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
    }

    static func integer(_ text: String) -> Int? { clean(text, allowed: "0123456789+-").flatMap { Int($0) } }

    /// Trims blanks, drops `_` between digits; nil when other characters appear.
    static func clean(_ text: String, allowed: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.contains(where: { $0.isASCII && $0.isNumber }) else { return nil }
        var out = ""
        var previous: Character?
        for ch in t {
            if ch == "_" {
                guard let p = previous, p.isASCII, p.isNumber else { return nil }
            } else if allowed.contains(ch) {
                out.append(ch)
            } else {
                return nil
            }
            previous = ch
        }
        return previous == "_" ? nil : out
    }

    static func isNull(_ s: Node.Scalar) -> Bool {
        guard s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return isNull(s) && s.string.isEmpty ? "nothing" : quote(s.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func quote(_ text: String) -> String {
        var t = text
        if t.count > 80 { t = String(t.prefix(77)) + "..." }
        var out = "\""
        for ch in t {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

/// A value in the document and the key path that leads to it.
struct Field {
    let node: Node
    let path: String
    var mark: Mark? { node.mark }
}

enum KeyPathText {
    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func index(_ path: String, _ i: Int) -> String { "\(path)[\(i)]" }
}

/// One mapping's keys, with unknown and duplicate keys reported.
struct Map {
    let node: Node
    let path: String
    let reader: ConfigReader
    private(set) var keys: [String] = []
    private var entries: [String: (key: Node, value: Node)] = [:]

    init?(_ field: Field, expected: String, _ reader: ConfigReader) {
        guard case .mapping(let mapping) = field.node else {
            reader.report(field.mark, field.path, "expected \(expected), found \(ConfigReader.describe(field.node))")
            return nil
        }
        node = field.node
        path = field.path
        self.reader = reader
        for (key, value) in mapping {
            guard case .scalar(let k) = key else {
                reader.report(key.mark, path, "expected a key name, found \(ConfigReader.describe(key)) as a key")
                continue
            }
            if entries[k.string] != nil {
                reader.report(key.mark, KeyPathText.join(path, k.string), "duplicate key \(ConfigReader.quote(k.string))")
                continue
            }
            entries[k.string] = (key, value)
            keys.append(k.string)
        }
    }

    init?(_ node: Node, _ path: String, expected: String, _ reader: ConfigReader) {
        self.init(Field(node: node, path: path), expected: expected, reader)
    }

    var mark: Mark? { node.mark }
    func has(_ key: String) -> Bool { entries[key] != nil }
    func keyMark(_ key: String) -> Mark? { entries[key]?.key.mark }

    subscript(_ key: String) -> Field? {
        entries[key].map { Field(node: $0.value, path: KeyPathText.join(path, key)) }
    }

    func require(_ key: String) -> Field? {
        if let f = self[key] { return f }
        reader.report(mark, path, "missing required key \(ConfigReader.quote(key))")
        return nil
    }

    func check(_ known: [String]) {
        for k in keys where !known.contains(k) {
            reader.report(entries[k]?.key.mark, KeyPathText.join(path, k),
                          "unknown key \(ConfigReader.quote(k)); expected one of: \(known.joined(separator: ", "))")
        }
    }
}
