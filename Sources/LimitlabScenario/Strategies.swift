import LimitlabCore
import Yams

extension Diagnostics {
    /// Characters allowed in names and labels that end up in file and folder names.
    static func isSafeName(_ s: String, extra: String = "") -> Bool {
        !s.isEmpty && !s.allSatisfy({ $0 == "." })
            && s.unicodeScalars.allSatisfy { c in
                ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                    || "._-".unicodeScalars.contains(c) || extra.unicodeScalars.contains(c)
            }
    }

    static let defaultStrategies = [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")]
    static let labelExpected = "a label of letters, digits, \".\", \"_\", \"-\", \"+\" and \"#\""

    /// The `strategies:` list: names and parameters checked against `StrategyRegistry`, labels
    /// made unique.
    func strategies(_ f: Field) -> [StrategySpec]? {
        guard let items = list(f, expected: "a list of strategies") else { return nil }
        if items.isEmpty {
            report(f.mark, f.path, "expected at least one strategy, found an empty list")
            return nil
        }
        var ok = true
        var read: [(name: String, label: String?, params: [String: ParamValue])] = []
        var explicitLabels: [String: String] = [:] // label → path of the item that uses it
        for item in items {
            guard let entry = strategy(item) else { ok = false; continue }
            if let label = entry.label {
                if let other = explicitLabels[label.text] {
                    report(label.field.mark, label.field.path,
                           "duplicate label \(Found.quote(label.text)); \(other) already uses it")
                    ok = false
                    continue
                }
                explicitLabels[label.text] = item.path
            }
            read.append((entry.name, entry.label?.text, entry.params))
        }
        guard ok else { return nil }
        var taken = Set(explicitLabels.keys)
        return read.map { entry in
            var label = entry.label ?? entry.name
            if entry.label == nil {
                var n = 2
                while taken.contains(label) { label = "\(entry.name)#\(n)"; n += 1 }
            }
            taken.insert(label)
            return StrategySpec(name: entry.name, label: label, params: entry.params)
        }
    }

    private struct ReadStrategy {
        var name: String
        var label: (text: String, field: Field)?
        var params: [String: ParamValue]
    }

    private func strategy(_ item: Field) -> ReadStrategy? {
        let names = StrategyRegistry.names
        if case .scalar = item.node {
            guard let name = choice(item, names, what: "strategy") else { return nil }
            return ReadStrategy(name: name, label: nil, params: [:])
        }
        guard let m = MappingReader(item, expected: "a strategy name or a mapping with name:, label: and params:", diag: self)
        else { return nil }
        m.checkKeys(["name", "label", "params"])
        var ok = true
        var label: (text: String, field: Field)?
        if let f = m["label"] {
            if let text = scalar(f, expected: Self.labelExpected, { Self.isSafeName($0, extra: "+#") ? $0 : nil }) {
                label = (text: text, field: f)
            } else {
                ok = false
            }
        }
        guard let name = m.require("name").flatMap({ choice($0, names, what: "strategy") }),
              let descriptor = StrategyRegistry.descriptor(named: name)
        else { return nil }
        var params: [String: ParamValue] = [:]
        if let pf = m["params"] {
            if let pm = MappingReader(pf, expected: "a mapping of parameters", diag: self) {
                for key in pm.keys {
                    guard let field = pm[key] else { continue }
                    guard let parameter = descriptor.parameter(key) else {
                        let known = descriptor.parameters.map(\.name)
                        if known.isEmpty {
                            report(pm.keyMark(key), field.path,
                                   "unknown parameter \(Found.quote(key)); strategy \(name) takes no parameters")
                        } else {
                            report(pm.keyMark(key), field.path,
                                   "unknown parameter \(Found.quote(key)) for strategy \(name); expected one of: "
                                   + known.joined(separator: ", ") + Suggest.didYouMean(key, known))
                        }
                        ok = false
                        continue
                    }
                    if let v = paramValue(field, parameter) { params[key] = v } else { ok = false }
                }
            } else {
                ok = false
            }
        }
        return ok ? ReadStrategy(name: name, label: label, params: params) : nil
    }

    /// A parameter value checked against its kind; durations are stored as seconds.
    private func paramValue(_ f: Field, _ p: StrategyParameter) -> ParamValue? {
        switch p.kind {
        case .integer(let lo, let hi):
            return integer(f, min: lo, max: hi).map { .number(Double($0)) }
        case .number(let lo, let hi):
            let range = hi == .infinity ? NumberRange.atLeast(lo) : NumberRange.closed(lo, hi)
            return number(f, range).map { .number($0) }
        case .duration:
            return duration(f, .nonNegative).map { .number($0) }
        case .choice(let options):
            return choice(f, options, what: "\(p.name)").map { .string($0) }
        case .bool:
            return bool(f).map { .bool($0) }
        }
    }
}
