import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LimitlabCore
@testable import LimitlabReport
import Testing

/// `time_series.limiter_state` in report.json and its chart in report.html.
@Suite struct LimiterStateReportTests {
    static let strategies: [StrategySpec] = [
        StrategySpec(name: "sdk-default"),
        StrategySpec(name: "token-bucket+jitter"),
        StrategySpec(name: "adaptive"),
        StrategySpec(name: "gcra", retry: RoleSpec(name: "full-jitter"), budget: RoleSpec(name: "percentage"),
                     shed: RoleSpec(name: "sre")),
    ]

    @Test func reportJSONCarriesTheGaugesAndIsByteIdenticalForTheSameSeed() throws {
        let sc = HTMLFixture.scenario(strategies: Self.strategies)
        let a = try ReportWriter.json(try HTMLFixture.report(sc))
        let b = try ReportWriter.json(try HTMLFixture.report(sc))
        #expect(a == b, "same seed, same report.json bytes")
        let report = try JSONDecoder().decode(Report.self, from: a)
        let series = report.runs.map { $0.timeSeries.limiterState?.map(\.name) ?? [] }
        #expect(series[0].isEmpty, "sdk-default has no limiter state")
        #expect(series[1] == ["queue.length", "in_flight", "limiter.tokens.requests", "limiter.tokens.input",
                              "limiter.tokens.output"])
        #expect(series[2] == ["queue.length", "in_flight", "concurrency.limit", "limiter.rate", "budget.tokens"])
        #expect(series[3] == ["queue.length", "in_flight", "limiter.remaining", "limiter.reset_s", "budget.tokens",
                              "shedder.reject_probability"])
        for run in report.runs {
            for gauge in run.timeSeries.limiterState ?? [] {
                #expect(gauge.values.count == run.timeSeries.bucketRequests.count, "\(run.strategy) \(gauge.name)")
            }
        }
        // The adaptive preset's AIMD limit reacts to the fixture's 429s: it moves, within its bounds.
        let limit = report.runs[2].timeSeries.limiterState![2].values.compactMap { $0 }
        #expect(Set(limit).count > 1 && limit.allSatisfy { $0 >= 20 && $0 <= 200 }, "\(Set(limit).sorted())")
        let text = String(decoding: a, as: UTF8.self)
        #expect(text.contains("\"limiter_state\""))
        #expect(!text.contains("0.10000000149011612"), "values are written as their Float text")
    }

    @Test func eachStrategyWithGaugesGetsALimiterStateChartWithItsLegend() throws {
        let report = try HTMLFixture.report(HTMLFixture.scenario(strategies: Self.strategies))
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        #expect(try HTMLFixture.nodes(doc, "//svg[@id='c-limiter-0']").isEmpty, "sdk-default has none")
        for i in 1..<report.runs.count {
            let names = report.runs[i].timeSeries.limiterState!.map(\.name)
            let figure = try #require(try HTMLFixture.nodes(doc, "//figure[.//svg[@id='c-limiter-\(i)']]").first)
            #expect(HTMLFixture.attr(figure, "data-s") == String(i), "the strategy legend hides the whole figure")
            let legend = try HTMLFixture.nodes(figure, ".//ul[contains(@class,'gauges')]/li").compactMap(\.stringValue)
            #expect(legend == names)
            let titles = try HTMLFixture.nodes(figure, ".//path[@data-s]/title").compactMap(\.stringValue)
            #expect(titles.count == names.count)
            for (title, name) in zip(titles, names) { #expect(title.hasPrefix(name + " (100% = "), "\(title)") }
        }
    }
}
