public import LimitlabCore

/// Every failure of the live runner's API. Messages never contain an API key.
public typealias LiveError = LimitlabError<LiveErrorKind>

/// What failed in the live runner's API (`LiveError.kind`).
public enum LiveErrorKind: Sendable, Equatable {
    /// A non-loopback target without `maxCostUSD`, or without a price to enforce it.
    case unsafeTarget
    /// The base URL, keys or options cannot work.
    case configuration
    /// The API key variable is missing or empty.
    case apiKey
    /// A strategy cannot be built from its spec.
    case strategy
    /// libcurl could not be initialised.
    case curl
    /// `run` called twice on one runner.
    case state
}
