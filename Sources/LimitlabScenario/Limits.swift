package import LimitlabCore

/// The numbers and knobs of a `limits` mapping as written, before a tier or a model resolves
/// them. Shared by a scenario's `limits` and the mock config's `orgs[i].limits`.
package struct LimitValues {
    /// Per minute; nil when not given.
    package var rpm: Double?
    package var itpm: Double?
    package var otpm: Double?
    package var burst: Double = 1
    package var admission: AdmissionRule = .positiveBalance
    package var outputAccounting: OutputAccounting = .realtime
    /// nil when not given (the catalog row decides).
    package var cacheReadsCount: Bool?

    package init() {}
}

extension Diagnostics {
    /// What a `limits` value must be, as messages name it.
    package static let limitsExpected = "a mapping of limits (tier:, or rpm:, itpm: and otpm:)"
    /// The keys of a scenario's `limits` mapping.
    package static let limitKeys = [
        "tier", "rpm", "itpm", "otpm", "burst", "admission", "output_accounting", "cache_reads_count", "keys",
    ]

    /// `rpm`, `itpm`, `otpm`, `burst`, `admission`, `output_accounting` and `cache_reads_count` of
    /// a limits mapping (`tier` and `keys` are read by the caller); nil when one of them is
    /// invalid (reported).
    package func limitValues(_ m: MappingReader) -> LimitValues? {
        var ok = true
        func read<T>(_ key: String, _ reader: (Field) -> T?) -> T? {
            guard let f = m[key] else { return nil }
            let v = reader(f)
            if v == nil { ok = false }
            return v
        }
        var v = LimitValues()
        v.rpm = read("rpm") { perMinute($0) }
        v.itpm = read("itpm") { perMinute($0) }
        v.otpm = read("otpm") { perMinute($0) }
        v.burst = read("burst") { positiveFraction($0) } ?? 1
        v.admission = read("admission") {
            choice($0, AdmissionRule.allCases.map(\.rawValue), what: "admission rule").flatMap(AdmissionRule.init(rawValue:))
        } ?? .positiveBalance
        v.outputAccounting = read("output_accounting") {
            choice($0, OutputAccounting.allCases.map(\.rawValue), what: "output accounting").flatMap(OutputAccounting.init(rawValue:))
        } ?? .realtime
        v.cacheReadsCount = read("cache_reads_count") { bool($0) }
        return ok ? v : nil
    }

    /// A `tier:` value as its catalog tier id (any spelling `TierCatalog.normaliseTier`
    /// accepts); nil when it is not a tier of `catalog` (reported with the known tiers).
    package func tier(_ f: Field, catalog: TierCatalog) -> String? {
        guard let tierText = string(f, expected: "a tier id like \"tier-1\"") else { return nil }
        let tierId = TierCatalog.normaliseTier(tierText)
        guard catalog.tier(named: tierId) != nil else {
            let known = catalog.tierIds()
            report(f.mark, f.path,
                   "unknown tier \(Found.quote(tierText)); known tiers: \(known.joined(separator: ", "))"
                   + Suggest.didYouMean(tierId, known))
            return nil
        }
        return tierId
    }

    /// Limits without a tier need all of `rpm`, `itpm` and `otpm`; reports each one missing.
    package func requireExplicitLimits(_ m: MappingReader) -> Bool {
        var ok = true
        for key in ["rpm", "itpm", "otpm"] where !m.has(key) {
            report(m.mark, m.path, "missing required key \(Found.quote(key))")
            ok = false
        }
        return ok
    }
}
