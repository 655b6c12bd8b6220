import Foundation
import LimitlabReport

/// Picks and validates the folder a command writes into, so that no run overwrites an
/// earlier run's folder.
enum OutputFolder {
    /// `<root>/<name><suffix>-<UTC timestamp>`: the default folder's name before any `-2`.
    static func timestamped(_ name: String, suffix: String = "", root: String = "reports", now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "\(root)/\(ReportWriter.fileSafe(name))\(suffix)-\(f.string(from: now))"
    }

    /// The first of `timestamped(name)`, `-2`, `-3`, … that does not exist yet, not created: for
    /// `run`, whose report writer creates it, so a run refused before it starts leaves nothing.
    static func unused(for name: String, suffix: String = "") -> String {
        let base = timestamped(name, suffix: suffix)
        var path = base, n = 2
        while FileManager.default.fileExists(atPath: path) {
            path = "\(base)-\(n)"
            n += 1
        }
        return path
    }

    /// A new default folder `reports/<name><suffix>-<UTC timestamp>`, created here. When that
    /// name is taken (two runs in the same second) `-2`, `-3`, … is appended; creating the
    /// directory is the reservation, so two processes cannot both get the same one.
    static func fresh(for name: String, suffix: String = "", root: String = "reports", now: Date = Date()) throws -> String {
        let base = timestamped(name, suffix: suffix, root: root, now: now)
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw CLIFailure.internalError("cannot create \(root): \(error.localizedDescription); pass --out DIR")
        }
        for k in 1...1000 {
            let path = k == 1 ? base : "\(base)-\(k)"
            // mkdir without intermediates fails when the folder exists: first come, first served.
            if mkdir(path, 0o755) == 0 { return path }
            if errno != EEXIST {
                throw CLIFailure.internalError("cannot create \(path): \(String(cString: strerror(errno))); pass --out DIR")
            }
        }
        throw CLIFailure.internalError("\(base)-2 … -1000 all exist; pass --out DIR")
    }

    /// An explicit `--out`: refused (exit 2) when it already holds files, unless `force`, or when
    /// it cannot be a new output folder at all (a file, unwritable, an empty or too long path;
    /// `OutputPath`). Checked before any work, so a refused command costs nothing.
    static func check(_ path: String, force: Bool) throws {
        if !force {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
               let contents = try? FileManager.default.contentsOfDirectory(atPath: path), !contents.isEmpty {
                throw CLIFailure.badInput("--out \(path) already holds an earlier run (\(contents.count) file(s)); "
                                          + "choose a new folder, or pass --force to overwrite it")
            }
            return try OutputPath.checkNewDirectory(path)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIFailure.badInput("--out \(path): a file of that name exists; choose another folder")
        }
    }

    /// `out` checked (see `check`), or a fresh default folder.
    static func choose(out: String?, force: Bool, name: String, suffix: String) throws -> String {
        if let out {
            try check(out, force: force)
            return out
        }
        return try fresh(for: name, suffix: suffix)
    }
}
