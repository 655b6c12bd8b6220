import Foundation
import LimitlabCore

/// Reading the text files a scenario (or the mock's config) refers to.
package enum TextFile {
    /// At most this many issues are listed for one referenced file; the rest are counted.
    static let maxIssuesPerFile = 20

    /// Largest file a scenario may refer to (trace or values file), bytes: far beyond a
    /// realistic trace (a million rows of ~30 bytes) yet bounded, so `/dev/zero` or a huge file
    /// is refused instead of growing memory without limit.
    public static let maxReferencedBytes = 256 << 20

    /// The file's UTF-8 text, or why it could not be read: the OS reason (`No such file or
    /// directory`), not a regular file (a FIFO would block forever, `/dev/zero` and
    /// `/dev/urandom` never end), or larger than `maxBytes`. Only the file's kind and size are
    /// described, never its content.
    package static func contents(_ path: String, maxBytes: Int = maxReferencedBytes,
                                 tooLargeHint: String = "give a smaller file") -> Result<String, FileReadFailure> {
        // O_NONBLOCK: opening a FIFO without a writer must not block; the descriptor is then
        // refused as not a regular file. O_NOCTTY: a terminal device never becomes ours.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY)
        if fd < 0 { return .failure(FileReadFailure(reason: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(FileReadFailure(reason: String(cString: strerror(errno)))) }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what = kind == S_IFDIR ? "a directory" : kind == S_IFIFO ? "a FIFO (named pipe)"
                : kind == S_IFCHR ? "a character device" : kind == S_IFBLK ? "a block device"
                : kind == S_IFSOCK ? "a socket" : "not a regular file"
            return .failure(FileReadFailure(reason: "\(what), not a regular file; give the path of a file"))
        }
        func tooLarge() -> FileReadFailure {
            FileReadFailure(reason: "larger than \(maxBytes >> 20) MiB, the most limitlab reads; \(tooLargeHint)")
        }
        if Int(info.st_size) > maxBytes { return .failure(tooLarge()) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Swift.max(0, Int(info.st_size)))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileReadFailure(reason: String(cString: strerror(errno))))
            }
            if n == 0 { break }
            // The size can grow while reading (or be reported as 0, as /proc files are).
            if bytes.count + n > maxBytes { return .failure(tooLarge()) }
            bytes.append(contentsOf: buffer[0..<n])
        }
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            return .failure(FileReadFailure(reason: "the file is not UTF-8 text"))
        }
        return .success(text)
    }

    /// Lines without their terminators (`\n` or `\r\n`); line i (0-based) is file line i + 1.
    static func lines(_ text: String) -> [String] {
        // "\r\n" is a single Character in Swift, so split on both spellings.
        var out = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map(String.init)
        if out.last == "" { out.removeLast() }
        return out
    }
}

package struct FileReadFailure: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}

/// Trace files: `at_s,input_tokens,output_tokens,max_tokens[,cache_read_tokens]`.
enum TraceCSV {
    static let columns = ["at_s", "input_tokens", "output_tokens", "max_tokens"]
    static let optionalColumn = "cache_read_tokens"

    struct Problem: Equatable {
        var line: Int
        var column: Int
        var message: String
    }

    struct Result {
        var rows: [TraceRow] = []
        /// The first problems, at most `TextFile.maxIssuesPerFile`.
        var problems: [Problem] = []
        /// All problems, including those not listed.
        var problemCount = 0
        var lastProblemLine = 0
        /// Whether a header line was found.
        var sawHeader = false
    }

    static func parse(_ text: String) -> Result {
        var result = Result()
        func problem(_ line: Int, _ column: Int, _ message: String) {
            result.problemCount += 1
            result.lastProblemLine = line
            if result.problems.count < TextFile.maxIssuesPerFile {
                result.problems.append(Problem(line: line, column: column, message: message))
            }
        }

        var header: [String]?
        var previousAt: (value: Double, line: Int)?
        for (index, raw) in TextFile.lines(text).enumerated() {
            let lineNumber = index + 1
            let trimmed = raw.strippingBlanks()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = split(raw)

            guard let names = header else {
                let found = fields.map { $0.text.strippingBlanks() }
                if found == columns || found == columns + [optionalColumn] {
                    header = found
                    result.sawHeader = true
                    continue
                }
                // The file may be anything the scenario names (`/etc/shadow`): describe the line by
                // its shape and the expected names it lacks, never quote it.
                let expected = found.count > columns.count ? columns + [optionalColumn] : columns
                let wrong = expected.indices.filter { $0 >= found.count || found[$0] != expected[$0] }
                var what = wrong.prefix(3).map { "field \($0 + 1) is not \"\(expected[$0])\"" }
                if found.count > expected.count { what.append("it has \(found.count) fields") }
                problem(lineNumber, 1, "expected the header \"\(columns.joined(separator: ","))\" "
                        + "(optionally followed by \",\(optionalColumn)\"), found a line of \(found.count) "
                        + "comma-separated field\(found.count == 1 ? "" : "s") that is not it: \(what.joined(separator: ", ")) "
                        + "(the line is not shown: the file may not be a trace file)")
                return result
            }

            if fields.count != names.count {
                let column = fields.count > names.count
                    ? fields[names.count].column
                    : raw.unicodeScalars.count + 1
                problem(lineNumber, column, "expected \(names.count) fields (\(names.joined(separator: ","))), found \(fields.count)")
                continue
            }

            var ok = true
            func integer(_ i: Int, min: Int, optional: Bool = false) -> Int? {
                let t = fields[i].text.strippingBlanks()
                if optional && t.isEmpty { return nil }
                if let v = ScalarText.integer(t), v >= min {
                    if v <= ScenarioBounds.maxTokens { return v }
                    problem(lineNumber, fields[i].column,
                            "\(names[i]): expected an integer ≤ \(ScenarioBounds.maxTokens), found \(Found.quote(t))")
                    ok = false
                    return nil
                }
                let empty = optional ? " or nothing" : ""
                problem(lineNumber, fields[i].column,
                        "\(names[i]): expected an integer ≥ \(min)\(empty), found \(Found.quote(t))")
                ok = false
                return nil
            }

            let atText = fields[0].text.strippingBlanks()
            var at = ScalarText.number(atText)
            if let a = at, a > ScenarioBounds.maxSeconds {
                problem(lineNumber, fields[0].column, "at_s: expected at most \(Int(ScenarioBounds.maxSeconds)) seconds "
                        + "(\(ScenarioBounds.maxSecondsText)), found \(Found.quote(atText))")
                ok = false
                at = nil
            } else if at == nil || at! < 0 {
                problem(lineNumber, fields[0].column, "at_s: expected a number of seconds ≥ 0, found \(Found.quote(atText))")
                ok = false
                at = nil
            } else if let previous = previousAt, at! < previous.value {
                problem(lineNumber, fields[0].column,
                        "at_s: expected a value ≥ \(ParamValue.number(previous.value)) (at_s must not decrease; "
                        + "the row at line \(previous.line) is at \(ParamValue.number(previous.value))), found \(Found.quote(atText))")
                ok = false
            }
            let input = integer(1, min: 1)
            let output = integer(2, min: 1)
            let maxTokens = integer(3, min: 1)
            let cacheRead = names.count > 4 ? integer(4, min: 0, optional: true) : nil
            if let cacheRead, let input, cacheRead > input {
                problem(lineNumber, fields[4].column,
                        "cache_read_tokens: expected at most input_tokens (\(input)), found \(Found.quote(fields[4].text.strippingBlanks()))")
                ok = false
            }
            if let output, let maxTokens, output > maxTokens {
                problem(lineNumber, fields[2].column,
                        "output_tokens: expected at most max_tokens (\(maxTokens)), found \(Found.quote(fields[2].text.strippingBlanks()))")
                ok = false
            }
            if let at, previousAt == nil || at >= previousAt!.value { previousAt = (at, lineNumber) }
            guard ok, let at, let input, let output, let maxTokens else { continue }
            result.rows.append(TraceRow(at: at, inputTokens: input, outputTokens: output, maxTokens: maxTokens,
                                        cacheReadTokens: cacheRead))
        }
        if header == nil {
            problem(0, 0, "the file is empty; expected the header \"\(columns.joined(separator: ","))\"")
        }
        return result
    }

    /// Comma-separated fields with the 1-based column each starts at.
    static func split(_ line: String) -> [(text: String, column: Int)] {
        var fields: [(String, Int)] = []
        var current = ""
        var start = 1
        var column = 1
        for scalar in line.unicodeScalars {
            if scalar == "," {
                fields.append((current, start))
                current = ""
                start = column + 1
            } else {
                current.unicodeScalars.append(scalar)
            }
            column += 1
        }
        fields.append((current, start))
        return fields
    }
}

extension Diagnostics {
    /// Reads a trace CSV named by `field`, reporting problems in the CSV file's terms.
    func trace(_ field: Field) -> (path: String, rows: [TraceRow])? {
        guard let relative = string(field, expected: "a CSV file path") else { return nil }
        let name = displayName(relative)
        let path = resolve(relative)
        let text: String
        switch TextFile.contents(path) {
        case .failure(let failure):
            report(field.mark, field.path, "cannot read trace file \(Found.quote(name, whole: true)): \(failure.reason)")
            return nil
        case .success(let t):
            text = t
        }
        let result = TraceCSV.parse(text)
        for p in result.problems {
            if p.line == 0 {
                report(field.mark, field.path, "trace file \(Found.quote(name, whole: true)): \(p.message)")
            } else {
                reportExternal(file: name, line: p.line, column: p.column, path: field.path, message: p.message,
                               anchor: field.mark)
            }
        }
        if result.problemCount > result.problems.count {
            reportExternal(file: name, line: result.lastProblemLine, column: 1, path: field.path,
                           message: "\(result.problemCount - result.problems.count) more problems not shown, up to this line",
                           anchor: field.mark)
        }
        if result.problemCount > 0 { return nil }
        if result.rows.isEmpty {
            report(field.mark, field.path, "trace file \(Found.quote(name, whole: true)) has a header but no rows")
            return nil
        }
        return (path, result.rows)
    }
}
