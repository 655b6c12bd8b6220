import Foundation
package import LimitlabCore
import LimitlabStrategies
import Yams

/// Turns the composed YAML tree into a `Scenario`, reporting every problem it can find.
package struct ScenarioReader {
    package let diag: Diagnostics
    package let catalog: TierCatalog

    package init(diag: Diagnostics, catalog: TierCatalog) {
        self.diag = diag
        self.catalog = catalog
    }

    static let topKeys = [
        "name", "description", "seed", "target", "duration", "requests", "model", "limits", "server",
        "arrivals", "workload", "strategies", "slo", "report", "thresholds", "workers", "models",
    ]
    static let nameExpected = "a name of letters, digits, \".\", \"_\" and \"-\" (it names report folders)"

    func read(_ root: Node?) -> Scenario? {
        guard let root else {
            diag.report(line: 1, column: 1, "",
                        "the file is empty; expected a mapping with name, model, limits, arrivals and workload")
            return nil
        }
        guard let m = MappingReader(Field(node: root, path: ""), expected: "a mapping of scenario keys", diag: diag)
        else { return nil }
        m.checkKeys(Self.topKeys)

        let name = m.require("name").flatMap { diag.scalar($0, expected: Self.nameExpected) { Diagnostics.isSafeName($0) ? $0 : nil } }
        let description = m["description"].map { diag.string($0) }
        let seed = m["seed"].map { diag.scalar($0, expected: "an integer in 0...\(UInt64.max)", ScalarText.unsigned64) }
        let target = m["target"].map(target)
        let modelField = m.require("model")
        let model = modelField.flatMap { diag.string($0, expected: "a model id like \"claude-sonnet-4-5\"") }
        let limits = m.require("limits").flatMap { self.limits($0, model: model, modelField: modelField) }
        let server = m["server"].map(server)
        let arrivals = m.require("arrivals").map { diag.arrivals($0) }
        let workload = m.require("workload").flatMap(workload)
        let strategies = m["strategies"].map { diag.strategies($0) }
        let slo = m["slo"].map(slo)
        let percentiles = m["report"].map(reportSettings)
        let thresholds = m["thresholds"].map(thresholds)
        let workers = m["workers"].map(workers)
        let models = m["models"].map { self.models($0, primary: model, limits: limits, server: (server ?? nil) ?? ServerModel()) }
        // Only when models: was read (a models: with problems is already reported).
        if let specs = strategies ?? nil, let list = m["strategies"], m["models"] == nil || (models ?? nil) != nil {
            checkRoutes(specs, models: [model ?? ""] + ((models ?? nil) ?? []).map(\.model), list)
        }

        // Run length: exactly one of duration / requests, unless the sources count themselves.
        var length: RunLength?
        switch (m["duration"], m["requests"]) {
        case (.some, .some):
            let later = [("duration", m.keyMark("duration")), ("requests", m.keyMark("requests"))]
                .max { ($0.1?.line ?? 0, $0.1?.column ?? 0) < ($1.1?.line ?? 0, $1.1?.column ?? 0) }!
            diag.report(later.1, later.0, "give either duration or requests, not both")
        case (.some(let f), nil):
            length = diag.duration(f, .positive).map { .duration($0) }
        case (nil, .some(let f)):
            length = diag.integer(f, min: 1, cap: ScenarioBounds.maxRequests).map { .requests($0) }
        case (nil, nil):
            if let arrivals, arrivals.countable || arrivals.uncertain {
                // Only trace and burst sources (or ones whose process is already reported as
                // wrong): the sources give the length.
                if arrivals.sources != nil && !arrivals.uncertain { length = .requests(arrivals.total) }
            } else {
                diag.report(m.mark, "", "missing required key \"duration\" or \"requests\"")
            }
        }

        // Sources that would start after the run has ended.
        if case .duration(let total)? = length, let arrivals {
            for s in arrivals.valid {
                if s.spec.start >= total, let f = s.startField {
                    diag.report(f.mark, f.path,
                                "expected a start before the run ends (\(Units.formatDuration(total))), found \(Found.describe(f.node))")
                } else if case .burst(let at, _, _) = s.spec.process, s.spec.start + at >= total, let f = s.atField {
                    diag.report(f.mark, f.path,
                                "the burst would start at \(Units.formatDuration(s.spec.start + at)), after the run ends "
                                + "(\(Units.formatDuration(total)))")
                }
            }
        }

        if let length, let arrivals, !arrivals.failed, let field = m["arrivals"] { checkVolume(length, arrivals.valid, field) }

        // Thresholds naming a strategy must name one of the scenario's (checked even when
        // another threshold is invalid, and reported at the entry's own strategy: key).
        // (Not when the strategies themselves are invalid: their labels are unknown.)
        let scenarioStrategies: [StrategySpec]? = switch strategies {
        case nil: Diagnostics.defaultStrategies
        case .some(let list): list
        }
        if let named = thresholds?.named, let scenarioStrategies {
            let labels = Set(scenarioStrategies.map(\.label))
            for (label, field) in named where !labels.contains(label) {
                diag.report(field.mark, field.path,
                            "unknown strategy \(Found.quote(label)); the scenario's strategies are: "
                            + labels.sorted().joined(separator: ", "))
            }
        }

        // A key pool needs keys to spread over.
        if let limits, let specs = strategies ?? nil, limits.keyConfigs.count < 2,
           let pooled = specs.firstIndex(where: { $0.pool != nil }), let list = m["strategies"] {
            diag.report(list.mark, list.path,
                        "strategy \(specs[pooled].label) has pool: but the scenario has one API key; "
                        + "add limits.keys (a number, or a list of per-key limits)")
        }

        // batch-offload's `urgent` names another strategy; the factory would refuse it only at run time.
        if let specs = strategies ?? nil, let list = m["strategies"] {
            for spec in specs where spec.name == BatchOffloadStrategy.name {
                guard case .string(let urgent)? = spec.params["urgent"],
                      let problem = BatchOffloadStrategy.urgentProblem(urgent) else { continue }
                diag.report(list.mark, list.path, "strategy \(spec.label): \(problem)")
            }
        }

        if diag.hasIssues { return nil }
        guard let name, let model, let limits, let length, let sources = arrivals?.sources, let workload else {
            diag.report(line: 0, column: 0, "", "internal error: a value was not read and no problem was reported")
            return nil
        }
        var scenario = Scenario(
            name: name, description: description ?? nil, seed: (seed ?? nil) ?? 1, target: (target ?? nil) ?? .sim,
            length: length, model: model, limits: limits, server: (server ?? nil) ?? ServerModel(),
            arrivals: sources.map(\.spec), workload: workload,
            strategies: (strategies ?? nil) ?? Diagnostics.defaultStrategies, slo: slo ?? nil)
        scenario.reportPercentiles = (percentiles ?? nil) ?? []
        scenario.thresholds = thresholds?.specs ?? []
        scenario.workers = workers ?? nil
        scenario.models = (models ?? nil) ?? []
        // Routed attempts are validated against their own model, so each model is checked.
        for id in scenario.modelIds {
            diag.warnRequestsPastModelLimits(model: id, catalog: catalog, workload: workload, workloadField: m["workload"],
                                             arrivals: sources)
        }
        return scenario
    }

    // MARK: thresholds

    /// `thresholds:` — a list of `"METRIC OP VALUE"` strings (all strategies) or
    /// `{check: "METRIC OP VALUE", strategy: LABEL}`. `specs` is nil when an entry is invalid;
    /// `named` lists every `strategy:` label read, with its field, valid checks or not.
    private func thresholds(_ f: Field) -> (specs: [ThresholdSpec]?, named: [(label: String, field: Field)]) {
        var named: [(label: String, field: Field)] = []
        guard let items = diag.list(f, expected: "a list of checks like \"latency.p99 < 30s\"") else { return (nil, named) }
        var out: [ThresholdSpec] = []
        var ok = true
        func condition(_ field: Field) -> Condition? {
            guard let text = diag.string(field, expected: "a check like \"latency.p99 < 30s\"") else { return nil }
            do { return try Condition.parse(text) } catch {
                diag.report(field.mark, field.path, error.message)
                return nil
            }
        }
        for item in items {
            if case .scalar = item.node {
                if let c = condition(item) { out.append(ThresholdSpec(condition: c)) } else { ok = false }
                continue
            }
            guard let m = MappingReader(item, expected: "a check string or a mapping with check: and strategy:", diag: diag)
            else { ok = false; continue }
            m.checkKeys(["check", "strategy"])
            let label = m["strategy"].flatMap { sf in
                diag.string(sf, expected: "a strategy label").map { named.append(($0, sf)); return $0 }
            }
            guard let cf = m.require("check"), let c = condition(cf) else { ok = false; continue }
            out.append(ThresholdSpec(condition: c, strategy: label))
        }
        return (ok ? out : nil, named)
    }

    // MARK: workers

    static let maxWorkers = 1024

    /// `workers: 4` or `workers: {count: 4, split: round-robin|random}`.
    private func workers(_ f: Field) -> WorkersSpec? {
        if case .scalar = f.node {
            return diag.integer(f, min: 1, max: Self.maxWorkers).map { WorkersSpec(count: $0) }
        }
        guard let m = MappingReader(f, expected: "a number of workers, or a mapping with count: and split:", diag: diag)
        else { return nil }
        m.checkKeys(["count", "split"])
        let count = m.require("count").flatMap { diag.integer($0, min: 1, max: Self.maxWorkers) }
        var split = WorkerSplit.roundRobin
        if let sf = m["split"] {
            guard let text = diag.choice(sf, WorkerSplit.allCases.map(\.rawValue), what: "worker split"),
                  let v = WorkerSplit(rawValue: text) else { return nil }
            split = v
        }
        return count.map { WorkersSpec(count: $0, split: split) }
    }

    // MARK: report

    /// `report: {percentiles: [0.75, 0.9999]}`: extra latency percentiles, each in (0, 1).
    private func reportSettings(_ f: Field) -> [Double]? {
        guard let m = MappingReader(f, expected: "a mapping of report settings (percentiles:)", diag: diag) else { return nil }
        m.checkKeys(["percentiles"])
        guard let pf = m["percentiles"] else { return [] }
        guard let items = diag.list(pf, expected: "a list of percentiles like [0.75, 0.9999]") else { return nil }
        let open = NumberRange(min: 0, minInclusive: false, max: 1, maxInclusive: false, label: "in (0, 1), like 0.75")
        var values: [Double] = []
        var ok = true
        for item in items {
            if let v = diag.number(item, open) { values.append(v) } else { ok = false }
        }
        return ok ? values : nil
    }

    // MARK: target

    private func target(_ f: Field) -> TargetSpec? {
        let expected = "sim, mock or an http:// or https:// URL"
        return diag.scalar(f, expected: expected) { t -> TargetSpec? in
            switch t {
            case "sim": return .sim
            case "mock": return .mock
            default:
                guard t.hasPrefix("http://") || t.hasPrefix("https://"),
                      let url = URL(string: t), let host = url.host, !host.isEmpty
                else { return nil }
                return .url(t)
            }
        }
    }

    // MARK: limits

    private func limits(_ f: Field, model: String?, modelField: Field?) -> LimitsSpec? {
        guard let m = MappingReader(f, expected: Diagnostics.limitsExpected, diag: diag) else { return nil }
        m.checkKeys(Diagnostics.limitKeys)
        let read = diag.limitValues(m)
        var ok = read != nil
        let values = read ?? LimitValues()
        let modelClass = model.flatMap { catalog.modelClass(for: $0) }

        if let tierField = m["tier"] {
            guard let tierId = diag.tier(tierField, catalog: catalog) else { return nil }
            guard let model else { return nil } // missing or invalid: already reported
            guard let modelClass else {
                let classes = catalog.modelClasses.map { "\($0.id) (\($0.models.joined(separator: ", ")))" }
                let ids = catalog.modelClasses.flatMap(\.models) + catalog.modelClasses.map(\.id)
                diag.report(modelField?.mark, "model",
                            "unknown model \(Found.quote(model)): limits.tier needs a model in the catalog"
                            + Suggest.didYouMean(model, ids) + "; known model classes: "
                            + classes.joined(separator: "; ")
                            + ". For another model, drop tier and give rpm, itpm and otpm")
                return nil
            }
            guard let row = catalog.limits(tier: tierId, modelClass: modelClass.id) else {
                let listed = catalog.limits.filter { $0.modelClass == modelClass.id }.map(\.tier)
                let listedText = listed.isEmpty ? "none" : listed.joined(separator: ", ")
                diag.report(tierField.mark, tierField.path,
                            "model class \(modelClass.id) (\(modelClass.name)) has no published limits at \(tierId); "
                            + "tiers that list it: \(listedText)")
                return nil
            }
            guard ok else { return nil }
            let overridden = values.rpm != nil || values.itpm != nil || values.otpm != nil || values.cacheReadsCount != nil
            let config = LimitConfig(
                rpm: values.rpm ?? Double(row.rpm), itpm: values.itpm ?? Double(row.itpm),
                otpm: values.otpm ?? Double(row.otpm), burst: values.burst, admission: values.admission,
                outputAccounting: values.outputAccounting, cacheReadsCount: values.cacheReadsCount ?? row.cacheReadsCount)
            let source = "catalog:\(row.source) (\(row.sourceDate))" + (overridden ? " with overrides" : "")
            return withKeys(LimitsSpec(config: config, tier: tierId, modelClass: modelClass.id, source: source), m["keys"])
        }

        // Explicit limits: all three numbers are needed.
        if !diag.requireExplicitLimits(m) { ok = false }
        guard ok, let rpm = values.rpm, let itpm = values.itpm, let otpm = values.otpm else { return nil }
        // Without a tier, cache reads count when every catalog row of the model's class says so.
        let rows = modelClass.map { c in catalog.limits.filter { $0.modelClass == c.id } } ?? []
        let classDefault = !rows.isEmpty && rows.allSatisfy(\.cacheReadsCount)
        let config = LimitConfig(rpm: rpm, itpm: itpm, otpm: otpm, burst: values.burst, admission: values.admission,
                                 outputAccounting: values.outputAccounting,
                                 cacheReadsCount: values.cacheReadsCount ?? classDefault)
        return withKeys(LimitsSpec(config: config, tier: nil, modelClass: modelClass?.id, source: "explicit"), m["keys"])
    }

    /// `limits.keys`: a number of API keys with the same limits, or a list giving each key's
    /// `tier` and/or `rpm`/`itpm`/`otpm` (other knobs are shared). Each key is its own
    /// organisation with its own buckets.
    private func withKeys(_ base: LimitsSpec, _ f: Field?) -> LimitsSpec? {
        guard let f else { return base }
        var spec = base
        if case .scalar = f.node {
            guard let n = diag.integer(f, min: 1, max: 255) else { return nil }
            spec.keys = Array(repeating: base.config, count: n)
            return spec
        }
        guard let items = diag.list(f, expected: "a number of keys, or a list of per-key limits") else { return nil }
        guard !items.isEmpty, items.count <= 255 else {
            diag.report(f.mark, f.path, "expected 1 to 255 keys, found \(items.count)")
            return nil
        }
        var ok = true
        for item in items {
            guard let m = MappingReader(item, expected: "a mapping with tier:, rpm:, itpm: or otpm:", diag: diag) else {
                ok = false
                continue
            }
            m.checkKeys(["tier", "rpm", "itpm", "otpm"])
            var config = base.config
            if let tf = m["tier"] {
                guard let text = diag.string(tf, expected: "a tier id like \"tier-1\""),
                      let modelClass = base.modelClass,
                      let row = catalog.limits(tier: TierCatalog.normaliseTier(text), modelClass: modelClass)
                else {
                    diag.report(tf.mark, tf.path, "no published limits for this model at that tier; "
                                + "known tiers: \(catalog.tierIds().joined(separator: ", "))")
                    ok = false
                    continue
                }
                config.rpm = Double(row.rpm); config.itpm = Double(row.itpm); config.otpm = Double(row.otpm)
            }
            for (key, path) in [("rpm", \LimitConfig.rpm), ("itpm", \LimitConfig.itpm), ("otpm", \LimitConfig.otpm)] {
                guard let vf = m[key] else { continue }
                if let v = diag.perMinute(vf) { config[keyPath: path] = v } else { ok = false }
            }
            spec.keys.append(config)
        }
        return ok ? spec : nil
    }

    // MARK: server

    package func server(_ f: Field) -> ServerModel? {
        guard let m = MappingReader(f, expected: "a mapping of server settings", diag: diag) else { return nil }
        m.checkKeys(["ttft", "output_rate", "prefill_rate", "reject_latency", "overload", "faults", "stalls", "tool_use",
                     "batch"])
        var ok = true
        var s = ServerModel()
        if let f = m["ttft"] {
            if let v = diag.distribution(f, .latency) { s.ttft = v } else { ok = false }
        }
        if let f = m["output_rate"] {
            if let v = diag.rate(f, .positive, example: "60/s") { s.outputTokensPerSecond = v } else { ok = false }
        }
        if let f = m["prefill_rate"] {
            if let v = diag.rate(f, .positive, example: "5000/s") { s.prefillTokensPerSecond = v } else { ok = false }
        }
        if let f = m["reject_latency"] {
            if let v = diag.duration(f, .nonNegative) { s.rejectLatency = v } else { ok = false }
        }
        if let f = m["overload"] {
            if let v = overload(f) { s.overload = v } else { ok = false }
        }
        if let f = m["faults"] {
            if let v = faults(f) { s.faults = v } else { ok = false }
        }
        if let f = m["stalls"] {
            if let v = stalls(f) { s.stalls = v } else { ok = false }
        }
        if let f = m["tool_use"] {
            if let v = toolUse(f) { s.toolUse = v } else { ok = false }
        }
        if let f = m["batch"] {
            if let v = batch(f) { s.batch = v } else { ok = false }
        }
        return ok ? s : nil
    }

    /// `server.batch`: the Message Batches queue's pace, start delay, expiry and limits.
    package func batch(_ f: Field) -> BatchServerModel? {
        guard let m = MappingReader(f, expected: "a mapping of Message Batches settings", diag: diag) else { return nil }
        m.checkKeys(["requests_per_second", "start_delay", "expiry", "rpm", "queue"])
        var b = BatchServerModel()
        var ok = true
        if let x = m["requests_per_second"] {
            if let v = diag.number(x, .positive) { b.requestsPerSecond = v } else { ok = false }
        }
        if let x = m["start_delay"] { if let v = diag.duration(x, .nonNegative) { b.startDelay = v } else { ok = false } }
        if let x = m["expiry"] { if let v = diag.duration(x, .positive) { b.expiry = v } else { ok = false } }
        if let x = m["rpm"] { if let v = diag.perMinute(x) { b.rpm = v } else { ok = false } }
        if let x = m["queue"] { if let v = diag.integer(x, min: 0) { b.queue = v } else { ok = false } }
        return ok ? b : nil
    }

    /// `server.tool_use`: `{rounds: 2}` or `{probability: 0.5}`.
    private func toolUse(_ f: Field) -> ToolUsePolicy? {
        guard let m = MappingReader(f, expected: "a mapping like {rounds: 2} or {probability: 0.5}", diag: diag) else {
            return nil
        }
        m.checkKeys(["rounds", "probability"])
        switch (m["rounds"], m["probability"]) {
        case (let r?, nil):
            return diag.integer(r, min: 0, max: 1000).map { .rounds($0) }
        case (nil, let p?):
            return diag.number(p, .unit).map { .probability($0) }
        default:
            diag.report(f.mark, f.path, "give exactly one of rounds (a whole number) or probability (0 to 1)")
            return nil
        }
    }

    /// `server.faults`: per-request probabilities of 500s, resets, pauses and broken streams.
    package func faults(_ f: Field) -> ServerFaults? {
        guard let m = MappingReader(f, expected: "a mapping of fault probabilities", diag: diag) else { return nil }
        m.checkKeys(["server_error", "stream_error", "connection_reset", "stall", "stall_duration"])
        var x = ServerFaults()
        var ok = true
        func probability(_ key: String, _ path: WritableKeyPath<ServerFaults, Double>) {
            guard let f = m[key] else { return }
            if let v = diag.number(f, .unit) { x[keyPath: path] = v } else { ok = false }
        }
        probability("server_error", \.serverError)
        probability("stream_error", \.streamError)
        probability("connection_reset", \.connectionReset)
        probability("stall", \.stall)
        if let f = m["stall_duration"] {
            if let v = diag.duration(f, .nonNegative) { x.stallDuration = v } else { ok = false }
        }
        return ok ? x : nil
    }

    /// `server.stalls`: a list of `{at: 2m, duration: 30s}` windows in increasing order.
    private func stalls(_ f: Field) -> [StallWindow]? {
        guard let items = diag.list(f, expected: "a list of stall windows like {at: 2m, duration: 30s}") else {
            return nil
        }
        var ok = true
        var windows: [StallWindow] = []
        for item in items {
            guard let m = MappingReader(item, expected: "a stall window like {at: 2m, duration: 30s}", diag: diag) else {
                ok = false
                continue
            }
            m.checkKeys(["at", "duration"])
            guard let af = m.require("at"), let df = m.require("duration") else { ok = false; continue }
            guard let at = diag.duration(af, .nonNegative), let d = diag.duration(df, .positive) else {
                ok = false
                continue
            }
            if let last = windows.last, at < last.end {
                diag.report(af.mark, af.path, "expected a start at or after the previous window's end ("
                            + "\(Self.seconds(last.end))), found \(Found.describe(af.node)); list windows in order, "
                            + "without overlap")
                ok = false
                continue
            }
            windows.append(StallWindow(start: at, duration: d))
        }
        return ok ? windows : nil
    }

    private static func seconds(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? "\(Int(v))s" : "\(v)s"
    }

    private func overload(_ f: Field) -> OverloadModel? {
        guard let m = MappingReader(f, expected: "a mapping of overload settings", diag: diag) else { return nil }
        m.checkKeys(["probability", "rise_from", "rise_to", "max_probability"])
        var ok = true
        var o = OverloadModel()
        if let f = m["probability"] {
            if let v = diag.number(f, .unit) { o.probability = v } else { ok = false }
        }
        if let f = m["max_probability"] {
            if let v = diag.number(f, .unit) { o.maxProbability = v } else { ok = false }
        }
        switch (m["rise_from"], m["rise_to"]) {
        case (nil, nil):
            break
        case (.some, nil):
            diag.report(m.mark, m.path, "missing required key \"rise_to\" (rise_from and rise_to go together)")
            ok = false
        case (nil, .some):
            diag.report(m.mark, m.path, "missing required key \"rise_from\" (rise_from and rise_to go together)")
            ok = false
        case (.some(let ff), .some(let tf)):
            let from = diag.integer(ff, min: 0)
            let to = diag.integer(tf, min: 0)
            if let from, let to, to <= from {
                diag.report(tf.mark, tf.path, "expected an integer > rise_from (\(from)), found \(Found.describe(tf.node))")
                ok = false
            } else if let from, let to {
                o.riseFrom = from
                o.riseTo = to
            } else {
                ok = false
            }
        }
        return ok ? o : nil
    }

    // MARK: workload

    private func workload(_ f: Field) -> WorkloadSpec? {
        guard let m = MappingReader(f, expected: "a mapping of workload settings", diag: diag) else { return nil }
        m.checkKeys(["input_tokens", "output_tokens", "max_tokens", "stream", "cache", "deferrable"])
        let input = m.require("input_tokens").flatMap { diag.distribution($0, .tokens) }
        let output = m.require("output_tokens").flatMap { diag.distribution($0, .tokens) }
        let maxTokens = m.require("max_tokens").flatMap { diag.integer($0, min: 1, cap: ScenarioBounds.maxTokens) }
        var ok = true
        var stream = true
        if let f = m["stream"] {
            if let v = diag.bool(f) { stream = v } else { ok = false }
        }
        var cache: CacheSpec?
        if let f = m["cache"] {
            cache = self.cache(f)
            if cache == nil { ok = false }
        }
        var deferrable: DeferrableSpec?
        if let f = m["deferrable"] {
            deferrable = self.deferrable(f)
            if deferrable == nil { ok = false }
        }
        guard ok, let input, let output, let maxTokens else { return nil }
        var spec = WorkloadSpec(inputTokens: input, outputTokens: output, maxTokens: maxTokens, cache: cache, stream: stream)
        spec.deferrable = deferrable
        return spec
    }

    /// `workload.deferrable`: the share of requests that may wait, and their latency SLO.
    private func deferrable(_ f: Field) -> DeferrableSpec? {
        guard let m = MappingReader(f, expected: "a mapping with share: and optionally latency:", diag: diag) else { return nil }
        m.checkKeys(["share", "latency"])
        let share = m.require("share").flatMap { diag.number($0, .unit) }
        var spec = DeferrableSpec(share: share ?? 0)
        var ok = true
        if let f = m["latency"] {
            if let v = diag.duration(f, .positive) { spec.latency = v } else { ok = false }
        }
        return ok && share != nil ? spec : nil
    }

    private func cache(_ f: Field) -> CacheSpec? {
        guard let m = MappingReader(f, expected: "a mapping of prompt-cache settings", diag: diag) else { return nil }
        m.checkKeys(["share", "ttl", "prefixes", "min_cacheable_tokens"])
        var ok = true
        let share = m.require("share").flatMap { diag.number($0, .unit) }
        var spec = CacheSpec(share: share ?? 0)
        if let f = m["ttl"] {
            if let v = diag.duration(f, .positive) { spec.ttl = v } else { ok = false }
        }
        if let f = m["prefixes"] {
            if let v = diag.integer(f, min: 1, cap: ScenarioBounds.maxCachePrefixes) { spec.prefixes = v } else { ok = false }
        }
        if let f = m["min_cacheable_tokens"] {
            if let v = diag.integer(f, min: 0) { spec.minCacheableTokens = v } else { ok = false }
        }
        return ok && share != nil ? spec : nil
    }

    // MARK: slo

    private func slo(_ f: Field) -> SLOSpec? {
        guard let m = MappingReader(f, expected: "a mapping with latency: and optionally attainment:", diag: diag)
        else { return nil }
        m.checkKeys(["latency", "attainment"])
        let latency = m.require("latency").flatMap { diag.duration($0, .positive) }
        var ok = true
        var attainment: Double?
        if let f = m["attainment"] {
            attainment = diag.number(f, .openUnit)
            if attainment == nil { ok = false }
        }
        guard ok, let latency else { return nil }
        return SLOSpec(latency: latency, attainment: attainment)
    }
}
