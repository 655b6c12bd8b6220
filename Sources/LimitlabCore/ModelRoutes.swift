/// A model class besides the scenario's own `model` that strategies may route attempts to
/// (`models:` in a scenario). Each has its own limits (its own buckets in every organisation),
/// its own latency model and its own prices; class index 0 is always the scenario's `model`,
/// and `Scenario.models[i]` is class `i + 1`.
public struct ExtraModel: Sendable, Equatable {
    /// The model id sent in the request body (`claude-haiku-4-5`).
    public var model: String
    /// The catalog class the model belongs to, when known.
    public var modelClass: String?
    /// The class's limits (the same per API key; each key has its own buckets).
    public var limits: LimitConfig
    /// `catalog:<source URL> (<date>)` or `explicit`, as `LimitsSpec.source`.
    public var source: String
    /// Latency of the class: time to first token, output and prefill rates. Overload, faults and
    /// stalls stay the organisation's (`Scenario.server`).
    public var server: ServerModel

    public init(model: String, modelClass: String? = nil, limits: LimitConfig, source: String = "explicit",
                server: ServerModel = ServerModel()) {
        self.model = model; self.modelClass = modelClass; self.limits = limits; self.source = source
        self.server = server
    }
}

extension Scenario {
    /// Every model a strategy may route to, by class index: the scenario's `model`, then `models`.
    public var modelIds: [String] { [model] + models.map(\.model) }

    /// Limits of class `c` for API key `key` (class 0 is the key's own limits).
    public func limits(modelClass c: Int, key: Int) -> LimitConfig {
        c == 0 ? limits.keyConfigs[key] : models[c - 1].limits
    }

    /// Latency model of class `c` (class 0 is `server`).
    public func server(modelClass c: Int) -> ServerModel { c == 0 ? server : models[c - 1].server }
}
