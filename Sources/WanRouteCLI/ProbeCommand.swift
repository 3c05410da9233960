import WanRoute

/// `wanroute probe`: what the providers will see in a video or image, read from its headers.
enum ProbeCommand: Command {
    static let spec = CommandSpec(
        name: "probe",
        summary: "Read duration, size, rotation and format from videos and images.",
        synopsis: "wanroute probe PATH|URL... [--format table|json]",
        options: [OptionSpec("format", "F", help: "table (default) or json.")],
        positionals: "PATH|URL",
        details: """
        Reads only the headers: for a local file the boxes it needs (a few kilobytes even for a
        200 MB video), for an http(s) URL one to three Range requests. DURATION is the container's
        (the longest track or stream, as ffprobe reports it): what quotes use, since no provider says
        how it measures the video; VIDEO is the video track's own. The format is detected from
        the content, never the file name. Width and height are as displayed (a phone video rotated
        90 degrees is portrait); stored_width and stored_height are as encoded.

        Exit 0 when every file was read; 64 when a named file does not exist; 1 when a file or URL
        could not be read or reached; 65 when a file is not a usable video or image. Failed files are still listed, with their error.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json])
        guard !args.positionals.isEmpty else { throw .usage("name at least one file or URL to probe") }
        var results: [(String, Result<ProbedMedia, CLIError>)] = []
        for location in args.positionals {
            do throws(CLIError) {
                try JobOptions.requireExisting(location, context)
            } catch {
                results.append((location, .failure(error)))
                continue
            }
            do {
                results.append((location, .success(try MediaProbe.probe(JobOptions.location(location, context)))))
            } catch {
                results.append((location, .failure(JobOptions.probeFailure(location, error))))
            }
        }
        switch format {
        case .json: context.stdout.write(JSONWriter.pretty(json(results)) + "\n")
        default: context.stdout.write(table(results))
        }
        var worst = ExitCode.ok
        for (_, result) in results {
            guard case .failure(let error) = result else { continue }
            if case .table = format { context.stderr.write("wanroute probe: error: \(message(error))\n") }
            // A missing file is a usage error (64) as in every command; then unreachable (1), then bad data (65).
            switch error {
            case .usage: worst = .usage
            case .failure: if worst != .usage { worst = .failure }
            default: if worst == .ok { worst = .dataError }
            }
        }
        return worst
    }

    static func message(_ error: CLIError) -> String {
        switch error {
        case .usage(let m), .dataMessage(let m), .failure(let m): return m
        case .data(let d): return d.map(\.description).joined(separator: "; ")
        }
    }

    static func json(_ results: [(String, Result<ProbedMedia, CLIError>)]) -> JSONValue {
        .object([JSONMember("files", .array(results.map { location, result in
            var members = [JSONMember("location", .string(location))]
            switch result {
            case .failure(let error):
                members.append(JSONMember("error", .string(message(error))))
            case .success(.video(let v)):
                members += [
                    JSONMember("kind", .string("video")),
                    JSONMember("container", .string(v.container.rawValue)),
                    JSONMember("layout", .string(v.layout.rawValue)),
                    JSONMember("duration", .string(v.duration.decimalString)),
                    JSONMember("video_duration", .string(v.videoDuration.decimalString)),
                    JSONMember("width", .number(String(v.width))),
                    JSONMember("height", .number(String(v.height))),
                    JSONMember("stored_width", .number(String(v.storedWidth))),
                    JSONMember("stored_height", .number(String(v.storedHeight))),
                    JSONMember("rotation", .number(String(v.rotation))),
                    JSONMember("fps", v.fps.map { .number(fps($0)) } ?? .null),
                    JSONMember("codec", .optional(v.codec)),
                    JSONMember("size_bytes", v.sizeBytes.map { .number(String($0)) } ?? .null),
                    JSONMember("bytes_read", .number(String(v.bytesRead))),
                    JSONMember("requests", .number(String(v.requests))),
                ]
            case .success(.image(let i)):
                members += [
                    JSONMember("kind", .string("image")),
                    JSONMember("format", .string(i.format.rawValue)),
                    JSONMember("width", .number(String(i.width))),
                    JSONMember("height", .number(String(i.height))),
                    JSONMember("stored_width", .number(String(i.storedWidth))),
                    JSONMember("stored_height", .number(String(i.storedHeight))),
                    JSONMember("orientation", .number(String(i.orientation))),
                    JSONMember("size_bytes", i.sizeBytes.map { .number(String($0)) } ?? .null),
                    JSONMember("bytes_read", .number(String(i.bytesRead))),
                    JSONMember("requests", .number(String(i.requests))),
                ]
            }
            return .object(members)
        }))])
    }

    /// Frames per second to three decimals (29.97, 25): a measurement, not money.
    static func fps(_ value: Double) -> String {
        FixedDecimal.format(Int64((value * 1000).rounded()), scale: 3)
    }

    static func table(_ results: [(String, Result<ProbedMedia, CLIError>)]) -> String {
        var t = TextTable(["FILE", "KIND", "FORMAT", "LAYOUT", "DURATION", "VIDEO", "DISPLAYED", "STORED", "ROTATION", "FPS", "CODEC", "SIZE", "READ"])
        for (location, result) in results {
            switch result {
            case .failure:
                t.rows.append([location, "error", "", "", "", "", "", "", "", "", "", "", ""])
            case .success(.video(let v)):
                t.rows.append([location, "video", v.container.rawValue, v.layout.rawValue, "\(v.duration)", "\(v.videoDuration)", "\(v.width)x\(v.height)",
                               "\(v.storedWidth)x\(v.storedHeight)", "\(v.rotation)", v.fps.map(fps) ?? "-", v.codec ?? "-",
                               v.sizeBytes.map(humanBytes) ?? "-", humanBytes(v.bytesRead)])
            case .success(.image(let i)):
                t.rows.append([location, "image", i.format.rawValue, "-", "-", "-", "\(i.width)x\(i.height)", "\(i.storedWidth)x\(i.storedHeight)",
                               i.orientation > 1 ? "exif \(i.orientation)" : "0", "-", "-", i.sizeBytes.map(humanBytes) ?? "-", humanBytes(i.bytesRead)])
            }
        }
        return t.rendered
    }
}
