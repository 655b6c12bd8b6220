/// Request and message ids (`req_011C…`, `msg_01…`): SplitMix64 from a per-connection random
/// seed, base62-encoded. Unique enough for a mock and cheaper than a syscall per id.
struct IDSource {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    mutating func make(prefix: String) -> String {
        var out = Array(prefix.utf8)
        for _ in 0..<2 {
            var v = next()
            for _ in 0..<10 {
                out.append(Self.alphabet[Int(v % 62)])
                v /= 62
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
