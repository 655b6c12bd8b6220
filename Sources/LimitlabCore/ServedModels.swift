/// The models a server answers for, with ids resolved as the Messages API resolves them: a
/// catalog model's id or one of its aliases (`claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`),
/// a class's short id naming the newest catalog model with that prefix (`claude-opus-4`), and
/// extra model ids outside the catalog. Matching is exact: `claude-sonnet-4-9` or
/// `Claude-Sonnet-4-5` is not a model. The mock answers `/v1/models` and validates requests
/// with it, and the simulator refuses the same requests with it, so the two cannot disagree on
/// which requests a model takes.
public struct ServedModels: Sendable {
    /// One model as the server validates it and the Models API lists it.
    public struct Model: Sendable, Equatable {
        /// Canonical id.
        public let id: String
        public let displayName: String
        /// RFC 3339 release time.
        public let createdAt: String
        /// What requests the model takes.
        public let caps: Caps
        /// The catalog's entry; nil for an extra model id.
        public let catalogModel: CatalogModel?

        /// Largest `max_tokens` accepted.
        public var maxTokens: Int { caps.maxTokens }
        /// Largest prompt accepted (the context window), in tokens.
        public var maxInputTokens: Int { caps.maxInputTokens }

        /// The API's 400 `invalid_request_error` message for a request this model refuses at
        /// once (see `Caps.refuses`), else nil.
        public func refusal(maxTokens: Int, promptTokens: Int, countTokens: Bool = false) -> String? {
            guard caps.refuses(maxTokens: maxTokens, promptTokens: promptTokens, countTokens: countTokens) else { return nil }
            if !countTokens && maxTokens > caps.maxTokens {
                return "max_tokens: \(maxTokens) > \(caps.maxTokens), which is the maximum allowed number of "
                    + "output tokens for \(id)"
            }
            return "prompt is too long: \(promptTokens) tokens > \(caps.maxInputTokens) maximum"
        }
    }

    /// The largest request a model takes: a plain value, so the simulator checks each attempt
    /// without copying the model's strings.
    public struct Caps: Sendable, Equatable {
        /// Largest `max_tokens` accepted.
        public let maxTokens: Int
        /// Largest prompt accepted (the context window), in tokens.
        public let maxInputTokens: Int

        /// Whether the API refuses such a request at once (400): `max_tokens` above the maximum
        /// output (not checked for `count_tokens`, which has no `max_tokens`), or a prompt past
        /// the context window.
        @inlinable
        public func refuses(maxTokens: Int, promptTokens: Int, countTokens: Bool = false) -> Bool {
            (!countTokens && maxTokens > self.maxTokens) || promptTokens > maxInputTokens
        }
    }

    /// Limits of an extra model id the catalog does not know: lenient, as large as the largest
    /// catalog model's (a fine-tune or a newer model should not be refused for its size).
    public static let extraMaxTokens = 128_000
    public static let extraMaxInputTokens = 1_000_000

    /// Listing order: the catalog's (newest first, as the Models API lists), then the extras.
    public let models: [Model]
    private let byName: [String: Int]

    public init(catalog: TierCatalog, extraModels: [String] = []) {
        var models: [Model] = []
        var byName: [String: Int] = [:]
        for m in catalog.models {
            byName[m.id] = models.count
            for a in m.aliases where byName[a] == nil { byName[a] = models.count }
            models.append(Model(id: m.id, displayName: m.displayName, createdAt: m.createdAt,
                                caps: Caps(maxTokens: m.maxTokens, maxInputTokens: m.maxInputTokens), catalogModel: m))
        }
        for c in catalog.modelClasses {
            for short in c.models where byName[short] == nil {
                if let i = models.firstIndex(where: { $0.id.hasPrefix(short + "-") }) { byName[short] = i }
            }
        }
        for id in extraModels where byName[id] == nil {
            byName[id] = models.count
            models.append(Model(id: id, displayName: id, createdAt: "2025-01-01T00:00:00Z",
                                caps: Caps(maxTokens: Self.extraMaxTokens, maxInputTokens: Self.extraMaxInputTokens),
                                catalogModel: nil))
        }
        self.models = models
        self.byName = byName
    }

    /// The model `id` names, or nil (the API's 404 `not_found_error`).
    public func resolve(_ id: String) -> Model? { byName[id].map { models[$0] } }

    /// The position in `models` of the model `id` names, or nil.
    public func index(of id: String) -> Int? { byName[id] }
}
