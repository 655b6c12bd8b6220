public import LimitlabCore
public import LimitlabStats

/// Model routing and fallback (`route:`): wraps a strategy and chooses the model class of each
/// attempt, which drivers read through `modelClass(for:)` when they send it. Each class is its
/// own set of buckets at the server (`models:` in a scenario), with its own latency and prices.
/// The wrapped strategy still decides when and whether to send, retry or give up.
public struct RoutingStrategy: StrategyWrapper {
    /// How a class is chosen.
    public enum Rule: Sendable, Equatable {
        /// A seeded draw per request: `share` of the requests go to class `to`, the rest to 0.
        case share(to: Int, share: Double)
        /// Requests whose whole prompt is below `below` tokens go to class `to`.
        case size(to: Int, below: Int)
        /// Every request starts on class 0 (the primary); after `after` answers of the kinds in
        /// `on` (429, 529) from its current class, its next attempts go to the next class of
        /// `order` (LiteLLM's fallback list, tried in order, never back).
        case fallback(order: [Int], after: Int, on: Set<Int>)
    }

    public let rule: Rule
    public var inner: any ClientStrategy
    private let random: RandomSource?
    /// Class of each unfinished request.
    private var classOf: [Int32: Int] = [:]
    /// Fallback: throttled answers from the request's current class, and its place in `order`.
    private var strikes: [Int32: (step: Int, count: Int)] = [:]

    /// `random` draws the `share` rule's per-request choice (a seeded stream of the run).
    public init(_ rule: Rule, wrapping inner: any ClientStrategy, random: RandomSource? = nil) {
        if case .share = rule { precondition(random != nil, "share routing needs a random source") }
        self.rule = rule
        self.inner = inner
        self.random = random
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        switch rule {
        case .share(let to, let share):
            // One draw per request, always made, so the split does not depend on the traffic.
            let u = random!.uniform()
            if u < share { classOf[request.id] = to }
        case .size(let to, let below):
            let prompt = request.cost.inputTokens + request.cost.cacheCreationTokens + request.cost.cacheReadTokens
            if prompt < below { classOf[request.id] = to }
        case .fallback:
            break
        }
        inner.arrived(request, now: now)
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if case .fallback(let order, let after, let on) = rule, Self.throttled(outcome, on: on) {
            var s = strikes[request.id] ?? (step: 0, count: 0)
            s.count += 1
            if s.count >= after && s.step + 1 < order.count {
                s = (step: s.step + 1, count: 0)
                classOf[request.id] = order[s.step]
            }
            strikes[request.id] = s
        }
        inner.finished(request, attempt: attempt, outcome: outcome, now: now)
        if outcome.succeeded { forget(request.id) }
    }

    /// Whether an outcome is one of the statuses that move a request to its next class.
    static func throttled(_ o: AttemptOutcome, on: Set<Int>) -> Bool {
        if on.contains(429) && (o.status == 429 || o.error == .rateLimited) { return true }
        if on.contains(529) && (o.status == 529 || o.error == .overloaded) { return true }
        return false
    }

    private mutating func forget(_ id: Int32) {
        classOf.removeValue(forKey: id)
        strikes.removeValue(forKey: id)
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        let first = commands.count
        inner.poll(now: now, into: &commands)
        var i = first
        while i < commands.count {
            switch commands[i] {
            case .giveUp(let id, _), .drop(let id, _): forget(id)
            case .send, .submitBatch: break
            }
            i += 1
        }
    }

    public func modelClass(for request: Int32) -> Int { classOf[request] ?? 0 }
}

extension RoutingStrategy {
    /// The default of `to:`, which names no model: the scenario's `models:` (the first for
    /// share and size, all in order for fallback).
    public static let allModels = "none"

    static let toParameter = StrategyParameter(
        "to", .text, allModels,
        "Model to send to, one of the scenario's models: list; none = the first of that list.")

    /// The `route:` entries.
    static let definitions: [StrategyDefinition] = [
        .route(
            "share",
            summary: "Send a share of the requests to another model (\"prefer Haiku for simple tasks\" by volume): "
                + "each request draws once from the strategy's seeded stream and keeps its model for all its "
                + "attempts; the rest go to the scenario's model.",
            mirrors: "LiteLLM's weighted deployment routing (simple-shuffle with weight:, "
                + "https://github.com/BerriAI/litellm docs/my-website/docs/routing.md @08d1303)",
            parameters: [
                toParameter,
                StrategyParameter("share", .number(min: 0, max: 1), "0.5", "Share of the requests sent to `to`."),
            ],
            make: { p, models, inner, context throws(StrategyError) in
                RoutingStrategy(.share(to: try Self.target(p, models, context), share: try p.double("share")),
                                wrapping: inner, random: context.random)
            }),
        .route(
            "size",
            summary: "Send requests whose whole prompt (cached prefix included) is below a size to another model "
                + "(\"small inputs to the small model\"); a request keeps its model for all its attempts.",
            mirrors: "limitlab's own size rule; LiteLLM routes by prompt size only the other way, to a larger "
                + "context window (context_window_fallback_dict, https://docs.litellm.ai/docs/completion/reliable_completions)",
            parameters: [
                toParameter,
                StrategyParameter("below", .integer(min: 1, max: .max), "2000",
                                  "Prompts of fewer tokens than this go to `to`."),
            ],
            make: { p, models, inner, context throws(StrategyError) in
                RoutingStrategy(.size(to: try Self.target(p, models, context), below: try p.int("below")), wrapping: inner)
            }),
        .route(
            "fallback",
            summary: "Every request starts on the scenario's model; after `after` answers of the statuses in `on` "
                + "from its current model, its later attempts go to the next model of the fallback list (the "
                + "scenario's models: in order, or just `to`), never back. Other errors retry the same model. The "
                + "wrapped strategy's retry policy still decides whether and when each attempt is made.",
            mirrors: "LiteLLM Router fallbacks (fallbacks=[{primary: [f1, f2]}]: once a call has failed after "
                + "num_retries, the fallback groups are tried in list order, one already tried is skipped; "
                + "litellm 1.110.2 router_utils/fallback_event_handlers.py run_async_fallback, "
                + "https://docs.litellm.ai/docs/proxy/reliability); here only 429/529 trigger it",
            parameters: [
                StrategyParameter("to", .text, allModels,
                                  "The fallback list: none = the scenario's models: in order; or one model id."),
                StrategyParameter("after", .integer(min: 1, max: 255), "1",
                                  "Answers of the `on` statuses from a model before moving on (LiteLLM num_retries + 1)."),
                StrategyParameter("on", .choice(["429+529", "429", "529"]), "429+529",
                                  "Which statuses count: rate_limit_error (429), overloaded_error (529) or both."),
            ],
            make: { p, models, inner, context throws(StrategyError) in
                let to = try p.string("to")
                let order = to == allModels ? Array(models.indices.dropFirst()) : [try Self.target(p, models, context)]
                let on: Set<Int> = switch try p.string("on") {
                case "429": [429]
                case "529": [529]
                default: [429, 529]
                }
                return RoutingStrategy(.fallback(order: [0] + order, after: try p.int("after"), on: on), wrapping: inner)
            }),
    ]

    /// The class index `to:` names among `models` (index 0 is the scenario's model).
    static func target(_ p: Params, _ models: [String], _ context: StrategyContext) throws(StrategyError) -> Int {
        let to = try p.string("to")
        guard models.count > 1 else {
            throw StrategyError(message: "strategy \(context.label): route: needs a scenario with models: besides model")
        }
        if to == allModels { return 1 }
        guard let i = models.indices.dropFirst().first(where: { models[$0] == to }) else {
            throw StrategyError(message: "strategy \(context.label): route to \"\(to)\" names no model of the scenario's "
                                + "models: (\(models.dropFirst().joined(separator: ", ")))")
        }
        return i
    }
}
