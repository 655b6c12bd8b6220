import LimitlabCore

/// Warnings for a valid scenario whose requests the API would refuse: a `max_tokens` above
/// the model's maximum output, or a prompt past its context window. The API (and limitlab's
/// mock) answers those 400 `invalid_request_error`; the simulator fails them the same way, not
/// retried (`SimTransport`), so the scenario runs as the API would serve it — the warning says
/// where it asks for that and how to fix it. A prompt plus `max_tokens` past the window gets a
/// warning too: what the API does then depends on the model, and neither the mock nor the
/// simulator refuses it.
extension Diagnostics {
    /// The largest value a token distribution can take, when it has one (lognormal and
    /// exponential without a `max:` clamp have none).
    static func largestValue(_ s: Sampled) -> Double? {
        let top: Double?
        switch s.distribution {
        case .constant(let v): top = v
        case .uniform(_, let b): top = b
        case .empirical(let values): top = values.max()
        case .lognormal, .exponential: top = nil
        }
        guard let clamp = s.max else { return top }
        return Swift.min(top ?? clamp, clamp)
    }

    func warnRequestsPastModelLimits(model id: String, catalog: TierCatalog, workload: WorkloadSpec,
                                     workloadField: Field?, arrivals: [ReadArrival]) {
        guard let model = catalog.servedModel(id) else { return } // an extra model: lenient limits
        let unverified = model.source.hasPrefix("unverified") ? ", an unverified catalog value" : ""
        let output = "the maximum output of \(model.id) (\(model.maxTokens) tokens\(unverified))"
        let window = "the context window of \(model.id) (\(model.maxInputTokens) tokens\(unverified))"
        let refused = "the API and limitlab's mock answer such a request 400 invalid_request_error, "
            + "and the simulator fails it so (not retried)"
        let mayBeCut = "the API refuses such a request (400) or stops the reply at the window "
            + "(stop_reason model_context_window_exceeded), depending on the model; limitlab's mock and simulator "
            + "accept it"

        // The workload's requests (every source but a trace, whose rows carry their own tokens).
        if arrivals.contains(where: { if case .trace = $0.spec.process { return false } else { return true } }),
           let wf = workloadField, case .mapping = wf.node,
           let m = MappingReader(wf, expected: "a mapping of workload settings", diag: self) {
            let input = Self.largestValue(workload.inputTokens).map { Int($0.rounded(.up)) }
            if workload.maxTokens > model.maxTokens, let f = m["max_tokens"] {
                warn(f.mark, f.path, "max_tokens \(workload.maxTokens) is above \(output): \(refused); "
                     + "set max_tokens to at most \(model.maxTokens)")
            }
            if let input, input > model.maxInputTokens, let f = m["input_tokens"] {
                warn(f.mark, f.path, "input_tokens can reach \(input), past \(window): \(refused) "
                     + "(\"prompt is too long\"); keep input_tokens at most \(model.maxInputTokens) (a max: clamp)")
            } else if let input, input + workload.maxTokens > model.maxInputTokens, let f = m["max_tokens"] {
                warn(f.mark, f.path, "input_tokens (up to \(input)) + max_tokens (\(workload.maxTokens)) exceed \(window): "
                     + "\(mayBeCut); lower max_tokens to at most \(Swift.max(1, model.maxInputTokens - input)) "
                     + "or input_tokens")
            }
        }

        // Trace rows, per trace source.
        for source in arrivals {
            guard case .trace(_, let rows) = source.spec.process, !rows.isEmpty, let item = source.field else { continue }
            let fileField = (MappingReader(item, expected: "", diag: self)?["file"]) ?? item
            let tooLong = rows.filter { $0.maxTokens > model.maxTokens }
            let pastWindow = rows.filter { $0.inputTokens > model.maxInputTokens }
            let overlapping = rows.filter {
                $0.inputTokens <= model.maxInputTokens && $0.inputTokens + $0.maxTokens > model.maxInputTokens
            }
            func count(_ n: Int) -> String { "\(n) of \(rows.count) rows" }
            if let top = tooLong.map(\.maxTokens).max() {
                warn(fileField.mark, fileField.path, "\(count(tooLong.count)) have max_tokens above \(output) "
                     + "(largest \(top)): \(refused); lower the trace's max_tokens column to at most \(model.maxTokens)")
            }
            if let top = pastWindow.map(\.inputTokens).max() {
                warn(fileField.mark, fileField.path, "\(count(pastWindow.count)) have input_tokens past \(window) "
                     + "(largest \(top)): \(refused) (\"prompt is too long\"); drop or shorten them")
            }
            if !overlapping.isEmpty {
                warn(fileField.mark, fileField.path, "\(count(overlapping.count)) have input_tokens + max_tokens "
                     + "above \(window): \(mayBeCut); lower their max_tokens")
            }
        }
    }
}
