import LimitlabCore
#if canImport(Glibc)
import Glibc
#endif

/// Usage tokens as the response reported them (-1: not reported).
struct ReportedUsage: Equatable {
    var input = -1
    var cacheCreation = -1
    var cacheRead = -1
    var output = -1
}

extension ReportedUsage {
    /// Takes the input-side counts `other` reports.
    mutating func merge(input other: ReportedUsage) {
        if other.input >= 0 { input = other.input }
        if other.cacheCreation >= 0 { cacheCreation = other.cacheCreation }
        if other.cacheRead >= 0 { cacheRead = other.cacheRead }
    }
}
