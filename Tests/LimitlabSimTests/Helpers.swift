import LimitlabCore
import LimitlabSim
import LimitlabStats
import LimitlabTestSupport

func gaps(_ s: ArrivalStream) -> [Double] {
    zip(s.intendedAt.dropFirst(), s.intendedAt).map { $0 - $1 }
}

func cv(_ v: [Double]) -> Double { Stats.standardDeviation(v) / Stats.mean(v) }
