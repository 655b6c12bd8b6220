import LimitlabCore
import LimitlabStrategies

// `models:` — the model classes besides `model` that routing strategies may send attempts to.
extension ScenarioReader {
    static let modelKeys = ["model", "limits", "server"]
    /// The server keys a model class may set for itself; the rest are the organisation's.
    static let modelServerKeys = ["ttft", "output_rate", "prefill_rate"]

    /// `models: [{model: claude-haiku-4-5, limits: {tier: tier-1}, server: {ttft: …, output_rate: …}}]`.
    /// `limits` defaults to the scenario's tier for the model's class; `server` starts from the
    /// scenario's server and may set only the latency keys.
    func models(_ f: Field, primary: String?, limits primaryLimits: LimitsSpec?, server: ServerModel) -> [ExtraModel]? {
        guard let items = diag.list(f, expected: "a list of models like {model: claude-haiku-4-5}") else { return nil }
        var out: [ExtraModel] = []
        var ok = true
        var seen: Set<String> = primary.map { [$0] } ?? []
        for item in items {
            guard let m = MappingReader(item, expected: "a mapping with model:, limits: and server:", diag: diag) else {
                ok = false
                continue
            }
            m.checkKeys(Self.modelKeys)
            guard let mf = m.require("model"), let id = diag.string(mf, expected: "a model id like \"claude-haiku-4-5\"")
            else { ok = false; continue }
            guard seen.insert(id).inserted else {
                diag.report(mf.mark, mf.path, "model \(Found.quote(id)) is already a model of the scenario; "
                            + "list each model once (the scenario's model is class 0)")
                ok = false
                continue
            }
            let modelClass = catalog.modelClass(for: id)
            if let c = modelClass, let p = primary, catalog.modelClass(for: p)?.id == c.id {
                diag.report(mf.mark, mf.path, "model \(Found.quote(id)) is in the same class as model (\(c.id)): the "
                            + "API gives them one set of buckets; route to a model of another class")
                ok = false
                continue
            }
            guard let limits = modelLimits(m, model: id, modelClass: modelClass, primary: primaryLimits) else {
                ok = false
                continue
            }
            var latency = server
            if let sf = m["server"] {
                guard let sm = MappingReader(sf, expected: "a mapping of latency settings (ttft:, output_rate:, prefill_rate:)",
                                             diag: diag) else { ok = false; continue }
                sm.checkKeys(Self.modelServerKeys)
                if let v = self.server(sf) {
                    if sm.has("ttft") { latency.ttft = v.ttft }
                    if sm.has("output_rate") { latency.outputTokensPerSecond = v.outputTokensPerSecond }
                    if sm.has("prefill_rate") { latency.prefillTokensPerSecond = v.prefillTokensPerSecond }
                } else {
                    ok = false
                    continue
                }
            }
            out.append(ExtraModel(model: id, modelClass: modelClass?.id, limits: limits.config, source: limits.source,
                                  server: latency))
        }
        if out.count > 254 {
            diag.report(f.mark, f.path, "expected at most 254 extra models, found \(out.count)")
            return nil
        }
        return ok ? out : nil
    }

    /// A model's limits: its own `limits:` mapping (a tier, or rpm/itpm/otpm over the scenario's
    /// tier for the model's class when it has one), else that tier's row. Knobs not given (burst, admission, output
    /// accounting) are the scenario's.
    private func modelLimits(_ m: MappingReader, model: String, modelClass: ModelClass?,
                             primary: LimitsSpec?) -> (config: LimitConfig, source: String)? {
        let base = primary?.config ?? LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000)
        func fromTier(_ tier: String, at f: Field) -> (LimitConfig, String)? {
            guard let modelClass else {
                diag.report(f.mark, f.path, "unknown model \(Found.quote(model)): a tier needs a model in the catalog; "
                            + "give this model limits: {rpm:, itpm:, otpm:}")
                return nil
            }
            guard let row = catalog.limits(tier: tier, modelClass: modelClass.id) else {
                diag.report(f.mark, f.path, "model class \(modelClass.id) has no published limits at \(tier); "
                            + "give this model limits: {rpm:, itpm:, otpm:}")
                return nil
            }
            var c = base
            c.rpm = Double(row.rpm); c.itpm = Double(row.itpm); c.otpm = Double(row.otpm)
            c.cacheReadsCount = row.cacheReadsCount
            return (c, "catalog:\(row.source) (\(row.sourceDate))")
        }
        guard let lf = m["limits"] else {
            guard let tier = primary?.tier, let mf = m["model"] else {
                diag.report(m.mark, m.path, "missing required key \"limits\" (the scenario's limits name no tier to "
                            + "read this model's from)")
                return nil
            }
            return fromTier(tier, at: mf)
        }
        guard let lm = MappingReader(lf, expected: Diagnostics.limitsExpected, diag: diag) else { return nil }
        lm.checkKeys(["tier", "rpm", "itpm", "otpm", "cache_reads_count"])
        guard let values = diag.limitValues(lm) else { return nil }
        var config = base
        var source = "explicit"
        if let tf = lm["tier"] {
            guard let tier = diag.tier(tf, catalog: catalog), let (c, s) = fromTier(tier, at: tf) else { return nil }
            config = c
            source = s
        } else if let tier = primary?.tier, modelClass != nil, let mf = m["model"] {
            // Numbers not given come from the scenario's tier for this model's class.
            guard let (c, s) = fromTier(tier, at: mf) else { return nil }
            config = c
            source = s
        } else if !diag.requireExplicitLimits(lm) {
            return nil
        }
        let overridden = values.rpm != nil || values.itpm != nil || values.otpm != nil
        if let v = values.rpm { config.rpm = v }
        if let v = values.itpm { config.itpm = v }
        if let v = values.otpm { config.otpm = v }
        if let v = values.cacheReadsCount { config.cacheReadsCount = v }
        if overridden && source != "explicit" { source += " with overrides" }
        return (config, source)
    }

    /// A strategy's `route:` must name models of the scenario.
    func checkRoutes(_ specs: [StrategySpec], models: [String], _ list: Field) {
        for spec in specs {
            guard let route = spec.route else { continue }
            if models.count < 2 {
                diag.report(list.mark, list.path, "strategy \(spec.label) has route: but the scenario has one model; "
                            + "add models: (e.g. [{model: claude-haiku-4-5}])")
                continue
            }
            if case .string(let to)? = route.params["to"], to != RoutingStrategy.allModels, !models.dropFirst().contains(to) {
                diag.report(list.mark, list.path, "strategy \(spec.label): route \(route.name) sends to \(Found.quote(to)), "
                            + "which is not in models: (\(models.dropFirst().joined(separator: ", ")))"
                            + Suggest.didYouMean(to, Array(models.dropFirst())))
            }
        }
    }
}
