import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport

struct TiersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiers",
        abstract: "Print the built-in tier catalog: RPM / ITPM / OTPM per model class and tier, with sources and prices.")

    @Option(help: "Only this scheme: classic (Tier 1-4) or 2026 (Start/Build/Scale).")
    var scheme: String?

    @Option(help: "Only the class of this model (a model id like claude-sonnet-4-5, or a class id).")
    var model: String?

    @Flag(help: "Print the catalog as JSON.")
    var json = false

    func run() throws {
        let catalog = TierCatalog.builtIn
        if let scheme, !catalog.schemes.contains(where: { $0.id == scheme }) {
            throw CLIFailure.badInput("--scheme \(scheme): unknown scheme; expected one of " + catalog.schemes.map(\.id).joined(separator: ", "))
        }
        var classFilter: String?
        if let model {
            guard let c = catalog.modelClass(for: model) else {
                throw CLIFailure.badInput("--model \(model): not in the catalog; known classes: "
                                          + catalog.modelClasses.map(\.id).joined(separator: ", "))
            }
            classFilter = c.id
        }
        let rows = catalog.limits.filter { (scheme == nil || $0.scheme == scheme) && (classFilter == nil || $0.modelClass == classFilter) }
        if json {
            var filtered = catalog
            filtered.limits = rows
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            writeStdout(String(decoding: try encoder.encode(filtered), as: UTF8.self) + "\n")
            return
        }
        let order = catalog.tierIds()
        let sorted = rows.sorted {
            ($0.scheme, order.firstIndex(of: $0.tier) ?? 0, $0.modelClass) < ($1.scheme, order.firstIndex(of: $1.tier) ?? 0, $1.modelClass)
        }
        var out: [[String]] = []
        for r in sorted {
            let prices = catalog.modelClasses.first { $0.id == r.modelClass }?.prices
            out.append([
                r.scheme, r.tier, r.modelClass, group(r.rpm), group(r.itpm), group(r.otpm),
                r.cacheReadsCount ? "yes †" : "no",
                prices.map { money($0.input) } ?? "?", prices.map { money($0.output) } ?? "?",
                prices.map { money($0.cacheRead) } ?? "?",
                "\(r.source) \(r.sourceDate)",
            ])
        }
        var text = SummaryTable.table(
            header: ["scheme", "tier", "model class", "RPM", "ITPM", "OTPM", "cache reads count", "$/MTok in", "out", "cache read", "source"],
            rows: out, rightAlignFrom: 3)
        text += "\n† cache_read_input_tokens count toward ITPM for this class. Prices: USD per million tokens, "
            + "list price of the class's current model (? = not in the catalog); batch requests cost 50%.\n"
            + "Limits change often; each row names the documentation version it was read from.\n"
        writeStdout(text)
    }

    func group(_ v: Int) -> String {
        let s = String(v)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    func money(_ v: Double) -> String { String(format: v < 1 ? "%.2f" : "%.2f", v) }
}
