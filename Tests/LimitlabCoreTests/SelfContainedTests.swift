import Foundation
import Testing

/// The repository must explain itself: no file may point a reader at notes outside it (a path
/// into a sibling `shared` directory), since users have only the repository. Cite the public
/// source (library, version, URL) instead.
@Suite("Repository is self-contained")
struct SelfContainedTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Built from pieces so this file does not contain what it looks for.
    static let forbidden = [["..", "shared", ""].joined(separator: "/"), ["shared", "reference"].joined(separator: "/")]

    /// Tracked files (`git ls-files`), or, outside a git checkout, every file under the root
    /// except hidden directories such as `.build` and `.git`.
    static func files() throws -> [String] {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root.path, "ls-files", "-z"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        if (try? git.run()) != nil {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            git.waitUntilExit()
            if git.terminationStatus == 0 {
                return String(decoding: data, as: UTF8.self).split(separator: "\0").map(String.init)
            }
        }
        var out: [String] = []
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                               options: [.skipsHiddenFiles])
        while let url = e?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            out.append(String(url.path.dropFirst(root.path.count + 1)))
        }
        return out
    }

    @Test func noFilePointsOutsideTheRepository() throws {
        let files = try Self.files()
        #expect(files.count > 50, "found only \(files.count) files under \(Self.root.path)")
        var offenders: [String] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: Self.root.appendingPathComponent(file).path) else { continue }
            for needle in Self.forbidden where data.range(of: Data(needle.utf8)) != nil {
                offenders.append("\(file) contains \"\(needle)\"")
            }
        }
        #expect(offenders.isEmpty, "cite the public source (library, version, URL) instead:\n\(offenders.joined(separator: "\n"))")
    }

    /// The check itself: the patterns are the ones meant, and a file holding one is caught.
    @Test func patternsCatchAPathOutside() {
        #expect(Self.forbidden == ["..\u{2F}shared\u{2F}", "shared\u{2F}reference"])
        let sample = Data("Facts are in `..\u{2F}shared\u{2F}reference/anthropic-api.md`.".utf8)
        #expect(Self.forbidden.allSatisfy { sample.range(of: Data($0.utf8)) != nil })
    }
}
