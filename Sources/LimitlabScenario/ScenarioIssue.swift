/// One problem found in a scenario file (or in a file it refers to: a trace CSV, a file of
/// empirical values), with its location.
public struct ScenarioIssue: Sendable, Equatable, CustomStringConvertible {
    /// The file the problem is in, as the user named it (`scenarios/x.yaml`,
    /// `scenarios/traces/sample.csv`).
    public var file: String
    /// 1-based line; 0 when the problem concerns the whole file (it could not be read).
    public var line: Int
    /// 1-based column, counted in Unicode scalars; 0 with line 0.
    public var column: Int
    /// Key path of the value at fault (`arrivals[0].rate`), or "" for the document itself.
    public var path: String
    /// What was expected and what was found.
    public var message: String

    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file; self.line = line; self.column = column; self.path = path; self.message = message
    }

    /// `file:line:column: path: warning: message`, for a problem that does not stop a run.
    public var warningDescription: String {
        path.isEmpty
            ? "\(file):\(line):\(column): warning: \(message)"
            : "\(file):\(line):\(column): \(path): warning: \(message)"
    }

    /// `file:line:column: path: message`, without `path: ` when the path is empty.
    public var description: String {
        path.isEmpty
            ? "\(file):\(line):\(column): \(message)"
            : "\(file):\(line):\(column): \(path): \(message)"
    }
}

/// Every problem found while loading a scenario. Loading keeps going after an error wherever
/// the structure allows, so one run reports as much as it can.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    /// All problems, in the order of the scenario file (by line, then column). Problems inside a
    /// referenced file (a trace CSV) are placed at the `file:` key that names it.
    public var issues: [ScenarioIssue]

    public init(issues: [ScenarioIssue]) { self.issues = issues }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
