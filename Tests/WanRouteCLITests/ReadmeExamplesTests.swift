import Foundation
import WanRouteTestSupport
import XCTest

/// Runs the README's command examples and compares their output with what the README shows, so
/// the README stays the source: a fenced block right after a line `<!-- checked-example -->`
/// (or `<!-- checked-example: DIR -->`, DIR relative to the repository) holds `$ wanroute ...`
/// commands, each followed by its exact output (stderr, then stdout, as a terminal shows a
/// command that prints its diagnostics first). Commands run in-process from DIR, or from an empty
/// directory so the built-in tables are used, with today fixed at 2026-12-02.
///
/// When an output changes on purpose, the failure prints the new text to paste into README.md.
/// A block after `<!-- same-as: PATH -->` must equal that file of the repository.
final class ReadmeExamplesTests: XCTestCase {
    struct Example {
        var line: Int
        var directory: String?
        var command: String
        var expected: String
    }

    static let marker = "<!-- checked-example"

    /// The checked examples of a Markdown text, in order.
    static func examples(in markdown: String) -> [Example] {
        let lines = markdown.components(separatedBy: "\n")
        var examples: [Example] = []
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix(marker), i + 1 < lines.count, lines[i + 1].hasPrefix("```") else { i += 1; continue }
            var directory: String?
            if let colon = line.firstIndex(of: ":") {
                directory = line[line.index(after: colon)...].replacingOccurrences(of: "-->", with: "").trimmingCharacters(in: .whitespaces)
            }
            i += 2
            var block: [(Int, String)] = []
            while i < lines.count, !lines[i].hasPrefix("```") { block.append((i + 1, lines[i])); i += 1 }
            var current: Example?
            var j = 0
            while j < block.count {
                let (number, text) = block[j]
                if text.hasPrefix("$ ") {
                    if let done = current { examples.append(done) }
                    var command = String(text.dropFirst(2))
                    while command.hasSuffix("\\"), j + 1 < block.count {
                        j += 1
                        command = String(command.dropLast()).trimmingCharacters(in: .whitespaces) + " " + block[j].1.trimmingCharacters(in: .whitespaces)
                    }
                    current = Example(line: number, directory: directory, command: command, expected: "")
                } else if current != nil {
                    current!.expected += text + "\n"
                }
                j += 1
            }
            if let done = current { examples.append(done) }
        }
        // A blank line separates one command's output from the next `$` line.
        return examples.map { e in
            var e = e
            while e.expected.hasSuffix("\n\n") { e.expected.removeLast() }
            return e
        }
    }

    /// Shell-like words: spaces split, single and double quotes group.
    static func words(_ command: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var started = false
        for c in command {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                started = true
            } else if c == " " {
                if started || !current.isEmpty { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
            }
        }
        if started || !current.isEmpty { words.append(current) }
        return words
    }

    func testTheReadmesCommandExamplesPrintWhatTheReadmeShows() async throws {
        let readme = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = Self.examples(in: readme)
        XCTAssertGreaterThanOrEqual(examples.count, 8, "the README's checked examples were not found")
        for example in examples {
            let words = Self.words(example.command)
            guard words.first == "wanroute" else { XCTFail("README.md:\(example.line): not a wanroute command: \(example.command)"); continue }
            let directory = example.directory.map { Repository.root.appendingPathComponent($0) }
            let r = try await CLIRunner.run(Array(words.dropFirst()), in: directory)
            let actual = r.stderr + r.stdout
            if actual != example.expected {
                XCTFail("README.md:\(example.line): `\(example.command)` (exit \(r.status)) prints:\n\(actual)\nbut the README shows:\n\(example.expected)")
            }
        }
    }

    /// A fenced block right after `<!-- same-as: PATH -->` is that file of the repository, exactly
    /// (the production policy example is the shipped file, the contract example the fixture the
    /// checked example reads), so the README never shows a variant of what ships.
    func testBlocksMarkedSameAsEqualTheirFiles() throws {
        let lines = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8).components(separatedBy: "\n")
        var checked = 0
        for (i, line) in lines.enumerated() where line.hasPrefix("<!-- same-as:") {
            let path = line.dropFirst("<!-- same-as:".count).replacingOccurrences(of: "-->", with: "").trimmingCharacters(in: .whitespaces)
            guard i + 1 < lines.count, lines[i + 1].hasPrefix("```"),
                  let end = lines[(i + 2)...].firstIndex(where: { $0.hasPrefix("```") }) else {
                XCTFail("README.md:\(i + 1): same-as needs a fenced block right after it")
                continue
            }
            let block = lines[(i + 2)..<end].joined(separator: "\n") + "\n"
            let file = try String(contentsOf: Repository.root.appendingPathComponent(path), encoding: .utf8)
            XCTAssertEqual(block, file, "README.md:\(i + 1) differs from \(path)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 2)
    }

    func testTheExampleReaderFindsCommandsContinuationsAndOutputs() {
        let text = """
        intro
        <!-- checked-example: Tests -->
        ```text
        $ wanroute quote --duration 3 \\
            --provider "apixo"
        line 1

        $ wanroute validate
        checked
        ```
        ```text
        $ wanroute not checked
        ```
        """
        let found = Self.examples(in: text)
        XCTAssertEqual(found.map(\.command), ["wanroute quote --duration 3 --provider \"apixo\"", "wanroute validate"])
        XCTAssertEqual(found.map(\.expected), ["line 1\n", "checked\n"])
        XCTAssertEqual(found.map(\.directory), ["Tests", "Tests"])
        XCTAssertEqual(Self.words(#"run --video "https://m/x.mp4?duration=12" --tag a=b"#), ["run", "--video", "https://m/x.mp4?duration=12", "--tag", "a=b"])
    }
}
