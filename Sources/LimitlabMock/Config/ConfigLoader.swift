import Foundation
public import LimitlabCore
import LimitlabScenario
import Yams

// The YAML reader of the mock's config. `limits` and `server` are a scenario's vocabulary and
// are read by LimitlabScenario's own readers (package access), so a value means the same and is
// reported the same way in both files: every problem, located as
// `file:line:column: key.path: expected …, found …`. Only what is mock-only is read here:
// organisations and their keys, per-class overrides, the cache and the top-level numbers.

extension MockConfig {
    /// Reads and validates a config file (format: docs/mock-server.md). Relative `file:` paths
    /// inside (empirical `server.ttft` values) resolve against the config's directory.
    public static func load(path: String, catalog: TierCatalog = .builtIn) throws(MockError) -> MockConfig {
        // The scenario's rules for files: a regular file, not a FIFO or a device, of bounded size.
        let text: String
        switch TextFile.contents(path, maxBytes: ScenarioLoader.maxScenarioBytes) {
        case .failure(let failure):
            throw MockError(.config, "cannot read mock config \"\(path)\": \(failure.reason)")
        case .success(let t):
            text = t
        }
        let directory = Diagnostics.directory(of: path)
        return try parse(yaml: text, file: path, baseDirectory: directory.isEmpty ? "." : directory, catalog: catalog)
    }

    /// Parses config YAML; `file` names the source in messages, `baseDirectory` resolves
    /// relative `file:` paths.
    public static func parse(yaml: String, file: String, baseDirectory: String = ".",
                             catalog: TierCatalog = .builtIn) throws(MockError) -> MockConfig {
        let diag = Diagnostics(file: file, baseDirectory: baseDirectory)
        var config: MockConfig?
        if let root = ScenarioLoader.compose(yaml, diag) {
            config = ConfigReader(diag: diag, catalog: catalog).read(root)
        }
        if diag.hasIssues {
            throw MockError(.config, diag.sortedIssues.map(\.description).joined(separator: "\n"))
        }
        guard let config else { throw MockError(.config, "\(file): invalid config") }
        return config
    }
}

/// Reads one config document, reporting into `diag`.
struct ConfigReader {
    let diag: Diagnostics
    let catalog: TierCatalog

    static let topKeys = ["seed", "max_body_bytes", "default_output_tokens", "orgs", "server", "faults", "cache", "batches",
                          "max_buffered_body_bytes", "client_timeout", "keep_alive_timeout"]

    func read(_ root: Node?) -> MockConfig? {
        guard let root else {
            diag.report(line: 1, column: 1, "", "the file is empty; expected a mapping with orgs: (and optionally "
                        + "server:, faults:, cache:, seed:)")
            return nil
        }
        guard let m = MappingReader(Field(node: root, path: ""), expected: "a mapping of mock settings", diag: diag)
        else { return nil }
        m.checkKeys(Self.topKeys)
        var config = MockConfig(organizations: [])
        if let f = m["seed"],
           let v = diag.scalar(f, expected: "an integer in 0...\(UInt64.max)", ScalarText.unsigned64) { config.seed = v }
        if let f = m["max_body_bytes"], let v = diag.integer(f, min: 1) { config.maxBodyBytes = v }
        if let f = m["default_output_tokens"], let v = diag.integer(f, min: 0) { config.defaultOutputTokens = v }
        if let f = m["max_buffered_body_bytes"], let v = diag.integer(f, min: 1) { config.maxBufferedBodyBytes = v }
        if let f = m["client_timeout"], let v = diag.duration(f, .positive) { config.clientTimeout = v }
        if let f = m["keep_alive_timeout"], let v = diag.duration(f, .positive) { config.keepAliveTimeout = v }
        let scenarioReader = ScenarioReader(diag: diag, catalog: catalog)
        if let f = m["server"], let v = scenarioReader.server(f) { config.server = v }
        // Top-level `faults:` and `batches:` are older spellings of `server.faults` and
        // `server.batch`, read by the same readers; each may be given in one place only.
        func serverKey(_ key: String) -> Bool {
            guard let server = m["server"], case .mapping(let pairs) = server.node else { return false }
            return pairs.contains { $0.key.string == key }
        }
        if let f = m["faults"] {
            if serverKey("faults") {
                diag.report(f.mark, f.path, "faults are given twice (here and in server.faults); keep one")
            } else if let v = scenarioReader.faults(f) {
                config.faults = v
            }
        }
        if let f = m["batches"] {
            if serverKey("batch") {
                diag.report(f.mark, f.path, "batch settings are given twice (here and in server.batch); keep one")
            } else if let v = scenarioReader.batch(f) {
                config.batches = v
            }
        }
        if let f = m["cache"], let v = cache(f) { config.cache = v }
        if let f = m.require("orgs"), let v = orgs(f) { config.organizations = v }
        return diag.hasIssues ? nil : config
    }

    // MARK: Organisations

    private func orgs(_ f: Field) -> [MockOrganization]? {
        guard let items = diag.list(f, expected: "a list of organisations (each with keys: and limits:)") else { return nil }
        guard !items.isEmpty else {
            diag.report(f.mark, f.path, "expected at least one organisation, found an empty list")
            return nil
        }
        var out: [MockOrganization] = []
        var keyOwner: [String: String] = [:]
        var anyKeyOrg: String?
        var ids: Set<String> = []
        for (i, item) in items.enumerated() {
            guard let m = MappingReader(item, expected: "a mapping with keys: and limits:", diag: diag) else { continue }
            m.checkKeys(["id", "keys", "any_key", "limits", "models", "count_tokens_rpm", "spend_cap"])
            let idExpected = "an organisation id of 1 to 128 visible ASCII characters (it is sent in a response header)"
            let id = m["id"].flatMap { f in
                diag.scalar(f, expected: idExpected) { t in
                    // CR, LF or other control bytes would break the header and empty every reply.
                    !t.isEmpty && t.utf8.count <= 128 && t.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } ? t : nil
                }
            } ?? MockOrganization.defaultId(index: i)
            if !ids.insert(id).inserted, let idf = m["id"] {
                diag.report(idf.mark, idf.path, "organisation id \(Found.quote(id)) is already used by another organisation")
            }
            var keys: [String] = []
            if let kf = m["keys"], let list = diag.list(kf, expected: "a list of API keys") {
                for k in list {
                    guard let key = diag.text(k, expected: "an API key") else { continue }
                    guard !key.isEmpty else { diag.report(k.mark, k.path, "expected a non-empty API key"); continue }
                    // Never echo a key: name its position only.
                    if let owner = keyOwner[key] {
                        diag.report(k.mark, k.path, "this API key is already listed under \(owner)")
                        continue
                    }
                    keyOwner[key] = k.path
                    keys.append(key)
                }
            }
            let anyKey = m["any_key"].flatMap { diag.bool($0) } ?? false
            if anyKey {
                if let earlier = anyKeyOrg, let af = m["any_key"] {
                    diag.report(af.mark, af.path, "only one organisation may accept any key; \(earlier) already does")
                }
                anyKeyOrg = KeyPath.index(f.path, i)
            }
            if keys.isEmpty && !anyKey {
                diag.report(m.mark, m.path, "missing required key \"keys\" (a list of API keys), or set any_key: true")
            }
            let models = m["models"].flatMap(modelOverrides) ?? [:]
            var limits = m.require("limits").flatMap(self.limits)
            limits?.models = models
            let ctRPM = m["count_tokens_rpm"].flatMap { diag.perMinute($0) }
            let spendCap = m["spend_cap"].flatMap { diag.bool($0) } ?? false
            if let limits {
                out.append(MockOrganization(id: id, keys: keys, acceptsAnyKey: anyKey, limits: limits,
                                            countTokensRPM: ctRPM, spendCapReached: spendCap))
            }
        }
        return out.count == items.count ? out : nil
    }

    /// An organisation's `limits`: a scenario's `limits` vocabulary (read by the scenario's
    /// readers) without `keys`, and not tied to one model: the tier applies to every class.
    private func limits(_ f: Field) -> MockLimits? {
        guard let m = MappingReader(f, expected: Diagnostics.limitsExpected, diag: diag) else { return nil }
        if m.has("keys") {
            diag.report(m.keyMark("keys"), KeyPath.join(m.path, "keys"),
                        "limits.keys is a scenario setting; in the mock, list several organisations under orgs: instead")
        }
        m.checkKeys(Diagnostics.limitKeys)
        let values = diag.limitValues(m)
        var tier: String?
        if let tf = m["tier"] {
            guard let t = diag.tier(tf, catalog: catalog) else { return nil }
            tier = t
        } else if !diag.requireExplicitLimits(m) {
            return nil
        }
        guard let v = values else { return nil }
        return MockLimits(tier: tier, rpm: v.rpm, itpm: v.itpm, otpm: v.otpm, burst: v.burst, admission: v.admission,
                          outputAccounting: v.outputAccounting, cacheReadsCount: v.cacheReadsCount)
    }

    /// `models:` — per-class overrides keyed by class id, by a catalog model id (mapped to its
    /// class), or by the exact id of a model outside the catalog.
    private func modelOverrides(_ f: Field) -> [String: MockLimitOverride]? {
        guard let m = MappingReader(f, expected: "a mapping from model class (or model id) to limits", diag: diag)
        else { return nil }
        var out: [String: MockLimitOverride] = [:]
        var ok = true
        for name in m.keys {
            guard let vf = m[name],
                  let vm = MappingReader(vf, expected: "a mapping with rpm:, itpm:, otpm: or cache_reads_count:", diag: diag)
            else { ok = false; continue }
            vm.checkKeys(["rpm", "itpm", "otpm", "cache_reads_count"])
            guard let v = diag.limitValues(vm) else { ok = false; continue }
            let o = MockLimitOverride(rpm: v.rpm, itpm: v.itpm, otpm: v.otpm, cacheReadsCount: v.cacheReadsCount)
            if catalog.modelClass(for: name) == nil && (o.rpm == nil || o.itpm == nil || o.otpm == nil) && ok {
                let classes = catalog.modelClasses.map(\.id).joined(separator: ", ")
                diag.report(m.keyMark(name), KeyPath.join(m.path, name),
                            "\(Found.quote(name)) is not a model class or model in the catalog (classes: \(classes)); "
                            + "to serve it as an extra model give all of rpm, itpm and otpm")
                ok = false
            }
            out[catalog.modelClass(for: name)?.id ?? name] = o
        }
        return ok ? out : nil
    }

    // MARK: Mock-only settings

    private func cache(_ f: Field) -> MockCacheSettings? {
        guard let m = MappingReader(f, expected: "a mapping of prompt-cache settings", diag: diag) else { return nil }
        m.checkKeys(["ttl_5m", "ttl_1h", "min_cacheable_tokens"])
        var c = MockCacheSettings()
        var ok = true
        if let x = m["ttl_5m"] { if let v = diag.duration(x, .positive) { c.ttl5m = v } else { ok = false } }
        if let x = m["ttl_1h"] { if let v = diag.duration(x, .positive) { c.ttl1h = v } else { ok = false } }
        if let x = m["min_cacheable_tokens"] { if let v = diag.integer(x, min: 0) { c.minCacheableTokens = v } else { ok = false } }
        return ok ? c : nil
    }
}
