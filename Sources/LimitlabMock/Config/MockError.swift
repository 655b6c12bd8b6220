public import LimitlabCore

/// Every failure of the mock server's public API: an unreadable or invalid config file, a
/// server that cannot bind, or one used in the wrong order.
public typealias MockError = LimitlabError<MockErrorKind>

/// What failed in the mock server's API (`MockError.kind`).
public enum MockErrorKind: Sendable, Equatable {
    /// The config file cannot be read or is invalid; `message` lists every problem as
    /// `file:line:column: key.path: expected …, found …`, one per line.
    case config
    /// The server could not bind its address (port in use, host not local, …).
    case bind
    /// `start` on a running server, or any call after `stop`.
    case state
}
