import LimitlabCore
import LimitlabStrategies
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
        var read: [(spec: StrategySpec, label: String?)] = []
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
            read.append((entry.spec, entry.label?.text))
        }
        guard ok else { return nil }
        var taken = Set(explicitLabels.keys)
        return read.map { entry in
            var label = entry.label ?? entry.spec.name
            if entry.label == nil {
                var n = 2
                while taken.contains(label) { label = "\(entry.spec.name)#\(n)"; n += 1 }
            }
            taken.insert(label)
            var spec = entry.spec
            spec.label = label
            return spec
        }
    }

    private struct ReadStrategy {
        var spec: StrategySpec
        var label: (text: String, field: Field)?
    }

    static let roleKeys: [(key: String, role: StrategyRole)] = [
        ("retry", .retry), ("budget", .budget), ("concurrency", .concurrency), ("shed", .shed),
        ("route", .route), ("trim", .trim),
    ]

    private func strategy(_ item: Field) -> ReadStrategy? {
        let names = StrategyRegistry.names
        if case .scalar = item.node {
            guard let name = choice(item, names, what: "strategy") else { return nil }
            return ReadStrategy(spec: StrategySpec(name: name), label: nil)
        }
        guard let m = MappingReader(item, expected: "a strategy name or a mapping with name:, label:, params:, retry:, budget:, concurrency: and shed:", diag: self)
        else { return nil }
        m.checkKeys(["name", "label", "params", "pool"] + Self.roleKeys.map(\.key))
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
        var spec = StrategySpec(name: name)
        guard let params = self.params(m["params"], descriptor, what: "strategy \(name)") else { return nil }
        spec.params = params
        for (key, role) in Self.roleKeys {
            guard let f = m[key] else { continue }
            guard let r = roleEntry(f, role) else { ok = false; continue }
            switch role {
            case .retry: spec.retry = r
            case .budget: spec.budget = r
            case .concurrency: spec.concurrency = r
            case .shed: spec.shed = r
            case .route: spec.route = r
            case .trim: spec.trim = r
            default: break
            }
        }
        if let pf = m["pool"] {
            // The registry's pool role lists the modes, so the reader and `limitlab strategies` agree.
            if let mode = choice(pf, StrategyRegistry.names(role: .pool), what: "key pool mode") {
                spec.pool = KeyPoolMode(rawValue: mode)
            } else {
                ok = false
            }
        }
        return ok ? ReadStrategy(spec: spec, label: label) : nil
    }

    /// A role entry: a name of that role, or `{name:, params:}`.
    private func roleEntry(_ f: Field, _ role: StrategyRole) -> RoleSpec? {
        let names = StrategyRegistry.names(role: role)
        if case .scalar = f.node {
            return choice(f, names, what: role.scenarioKey).map { RoleSpec(name: $0) }
        }
        guard let m = MappingReader(f, expected: "a \(role.scenarioKey) name or a mapping with name: and params:", diag: self)
        else { return nil }
        m.checkKeys(["name", "params"])
        guard let name = m.require("name").flatMap({ choice($0, names, what: role.scenarioKey) }),
              let descriptor = StrategyRegistry.descriptor(named: name, role: role),
              let params = params(m["params"], descriptor, what: "\(role.scenarioKey) \(name)")
        else { return nil }
        return RoleSpec(name: name, params: params)
    }

    /// A `params:` mapping checked against a descriptor; nil after reporting a problem.
    private func params(_ pf: Field?, _ descriptor: StrategyDescriptor, what: String) -> [String: ParamValue]? {
        var ok = true
        let name = what
        var params: [String: ParamValue] = [:]
        if let pf {
            if let pm = MappingReader(pf, expected: "a mapping of parameters", diag: self) {
                for key in pm.keys {
                    guard let field = pm[key] else { continue }
                    guard let parameter = descriptor.parameter(key) else {
                        let known = descriptor.parameters.map(\.name)
                        if known.isEmpty {
                            report(pm.keyMark(key), field.path,
                                   "unknown parameter \(Found.quote(key)); \(name) takes no parameters")
                        } else {
                            report(pm.keyMark(key), field.path,
                                   "unknown parameter \(Found.quote(key)) for \(name); expected one of: "
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
        return ok ? params : nil
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
        case .text:
            return scalar(f, expected: p.kind.label) { Self.isSafeName($0, extra: ":") ? ParamValue.string($0) : nil }
        }
    }
}
