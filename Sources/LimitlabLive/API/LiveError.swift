public import LimitlabCore
import Foundation
import LimitlabStats
internal import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the live runner's API. Messages never contain an API key.
public struct LiveError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
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

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
