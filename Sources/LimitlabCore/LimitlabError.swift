/// A failure of one of limitlab's library APIs: its kind (each module lists its own, so a
/// caller can switch over them) and a message for a person that names the place and the fix.
/// The mock's `MockError` and the live runner's `LiveError` are this type with their kinds.
public struct LimitlabError<Kind: Sendable & Equatable>: Error, Sendable, CustomStringConvertible {
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
