import Foundation
import WanRoute
import WanRoutePostgres

/// `wanroute ledger migrate | export | import`: the PostgreSQL ledger's tables, and moving events
/// between the file ledger and PostgreSQL.
enum LedgerCommand: Command {
    static let subcommands = ["migrate", "export", "import"]

    static let spec = CommandSpec(
        name: "ledger",
        summary: "The ledger itself: 'migrate' creates PostgreSQL's tables; 'export' and 'import' move events between the file ledger and PostgreSQL.",
        synopsis: """
        wanroute ledger migrate [--ledger URL] [--schema NAME] [--grant ROLE]
               wanroute ledger export [--ledger DIR|URL] [--month YYYY-MM]... [--output DIR]
               wanroute ledger import FILE|DIR... [--ledger DIR|URL]
        """,
        options: [
            OptionSpec("ledger", "DIR|URL", help: "The ledger: postgres://USER@HOST:PORT/DATABASE, or for export and import a file ledger's directory too (default: $WANROUTE_LEDGER; for export and import, else the file ledger under $WANROUTE_HOME)."),
            OptionSpec("schema", "NAME", help: "migrate: the PostgreSQL schema to hold the tables (default: public)."),
            OptionSpec("grant", "ROLE", help: "migrate: grant ROLE what wanroute needs at run time: SELECT and INSERT on the events (append-only), SELECT, INSERT and UPDATE on the job summary, its coverage and the budget checkpoints."),
            OptionSpec("month", "YYYY-MM", repeatable: true, help: "export: only this UTC month (repeatable; default every month)."),
            OptionSpec("output", "DIR", help: "export: write one file per month, DIR/YYYY-MM.jsonl (a file ledger), instead of every line to stdout; existing files are never overwritten."),
        ],
        positionals: "migrate | export | import FILE|DIR...",
        details: """
        migrate: run it as the role that should own the tables (a database administrator), once per
        database and again after upgrading wanroute; it applies only what is missing, in one
        transaction, and several machines may run it at once. The events table is append-only: a
        trigger refuses UPDATE, DELETE and TRUNCATE to every role, its owner included. Version 2 adds the
        job summary (wanroute_ledger_jobs: one row per job, derived from the events and kept current in
        the same transaction as they are written), which report, reconcile, whatif and resume read; migrate
        then folds the events already in the ledger into it, so the first report need not.

        export: the ledger's events as the file ledger's own JSON Lines (each line with its sequence
        number and checksum), month by month, oldest first.

        import: appends to the ledger (--ledger, else WANROUTE_LEDGER, else the file ledger) the events
        of exported files or of a file ledger's directory (its YYYY-MM.jsonl files). Every line's
        checksum is verified before anything is written; a damaged line is refused with its file and
        line. A month whose events the ledger already holds gets only the events after them, so
        importing twice adds nothing and an interrupted import is finished by running it again; a
        month where the two ledgers differ is refused. Run it while no other process writes the ledger.
        It prints one line per month: the events added and those already there.

        The password comes from the URL, else from WANROUTE_LEDGER_PASSWORD, else from PGPASSWORD, and
        is never printed. The URL must not ask for TLS (sslmode=require, verify-ca, verify-full): wanroute
        has none, so connect over a Unix socket, loopback, or a TLS-terminating sidecar on loopback
        (README, "PostgreSQL").

        Exit codes: 0 done (the schema is current); 1 the server could not be reached or refused, or
        the ledgers differ; 64 a bad command line or URL; 65 a damaged line in the files imported or
        in the ledger exported.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        guard let word = args.positionals.first else {
            throw .usage("missing the subcommand; write 'wanroute ledger migrate', 'ledger export' or 'ledger import'")
        }
        guard subcommands.contains(word), word == "import" || args.positionals.count == 1 else {
            let guess = Spelling.closest(to: word, among: subcommands).map { " (did you mean '\($0)'?)" } ?? ""
            throw .usage("unknown subcommand '\(args.positionals.joined(separator: " "))'\(guess); write migrate, export or import FILE|DIR...")
        }
        switch word {
        case "export": return try await export(args, context)
        case "import": return try await importFiles(Array(args.positionals.dropFirst()), args, context)
        default: return try await migrate(args, context)
        }
    }

    /// Writes every record of the chosen months, as ledger lines, to stdout or one file per month.
    static func export(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        var chosen: [LedgerMonth] = []
        for text in args.values("month") {
            guard let month = LedgerMonth(text) else { throw .usage("--month takes YYYY-MM, such as 2026-12, not '\(text)'") }
            chosen.append(month)
        }
        let place = try LedgerLocation.place(args, context)
        let output = args.value("output").map { context.url($0).path }
        guard let store = try LedgerLocation.open(place, context, command: "ledger export") else {
            throw .failure("no ledger at \(place) yet; nothing to export")
        }
        do {
            let held = try await store.months()
            let months = chosen.isEmpty ? held : held.filter(chosen.contains)
            if let output { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
            for month in months {
                var bytes: [UInt8] = []
                // The month's lines as the file ledger writes them (one file, one writer).
                var writer = LedgerLineWriter()
                try await store.forEachRecord(in: month) { record in
                    // A version 4 line without a provider takes its intent's: it cannot say "none".
                    if case .accepted = record.event.body, record.event.provider == nil {
                        throw CLIError.failure("\(month): event \(record.sequence) (job \(record.event.jobID)) is an accepted task without its provider, which the current schema cannot write; the export stopped there")
                    }
                    writer.encode(record, into: &bytes)
                    if output == nil, bytes.count >= 1 << 20 {
                        try writeExactly(bytes, month, context)
                        bytes.removeAll(keepingCapacity: true)
                    }
                }
                if let output {
                    let path = output + "/" + "\(month).jsonl"
                    guard !FileManager.default.fileExists(atPath: path) else {
                        throw CLIError.failure("\(path) exists; export never overwrites a file (to add to a ledger, use 'wanroute ledger import')")
                    }
                    // Written whole to a temporary file, then linked into place (which fails rather
                    // than replace a file that appeared meanwhile): never a half-written month.
                    let temporary = output + "/.\(month).jsonl.export-\(UUID().uuidString.prefix(8))"
                    defer { try? FileManager.default.removeItem(atPath: temporary) }
                    try Data(bytes).write(to: URL(fileURLWithPath: temporary))
                    try FileManager.default.linkItem(atPath: temporary, toPath: path)
                    context.stderr.write("wanroute ledger export: \(month): wrote \(path)\n")
                } else {
                    try writeExactly(bytes, month, context)
                }
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw LedgerLocation.failure(error)
        }
        return .ok
    }

    /// Ledger lines to stdout, which escapes what a terminal must not receive raw (C1 controls,
    /// bidirectional overrides); the codec keeps those raw in strings, and an escaped line would no
    /// longer match its checksum, so such a month goes only to files.
    static func writeExactly(_ bytes: [UInt8], _ month: LedgerMonth, _ context: Context) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.unicodeScalars.contains(where: { $0 != "\n" && TerminalText.mustEscape($0) }) else {
            throw CLIError.failure("\(month) holds text with control or bidirectional characters, which stdout escapes (breaking the lines' checksums); export it with --output DIR")
        }
        context.stdout.write(text)
    }

    /// Verifies every file first, then appends what the ledger lacks, month by month.
    static func importFiles(_ paths: [String], _ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        guard !paths.isEmpty else { throw .usage("name what to import: 'wanroute ledger import FILE|DIR...' (exported files, or a file ledger's directory)") }
        var files: [String] = []
        for path in paths.map({ context.url($0).path }) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .failure("\(path) does not exist") }
            if isDirectory.boolValue {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                    .filter { $0.hasSuffix(".jsonl") && LedgerMonth(String($0.dropLast(6))) != nil }.sorted()
                if names.isEmpty { throw .failure("\(path) holds no ledger files (YYYY-MM.jsonl)") }
                files += names.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var months: [LedgerMonth: [LedgerRecord]] = [:]
        for file in files {
            let bytes: [UInt8]
            do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file))) } catch { throw .failure("cannot read \(file): \(error.localizedDescription)") }
            do {
                for (month, records) in try LedgerImport.records(bytes, file: file) {
                    guard months[month] == nil else {
                        throw CLIError.usage("\(month) appears in more than one file (\(file) is the second); import each month once")
                    }
                    months[month] = records
                }
            } catch let error as CLIError {
                throw error
            } catch {
                throw LedgerLocation.failure(error)
            }
        }
        let place = try LedgerLocation.place(args, context)
        guard let store = try LedgerLocation.open(place, context, command: "ledger import", create: true) else {
            throw .failure("cannot open the ledger at \(place)")
        }
        for month in months.keys.sorted() {
            do {
                let result = try await LedgerImport.apply(months[month]!, month: month, to: store)
                context.stdout.write("\(month): \(result.added) event\(result.added == 1 ? "" : "s") added, \(result.present) already in the ledger at \(place)\n")
            } catch {
                throw LedgerLocation.failure(error)
            }
        }
        return .ok
    }

    /// `ledger migrate`.
    static func migrate(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let configuration = try postgresConfiguration(args, context)
        let schema = args.value("schema") ?? "public"
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(configuration)
        } catch {
            throw .failure("\(error)")
        }
        defer { connection.close() }
        do {
            let applied = try PostgresLedgerStore.migrate(connection, schema: schema, grantTo: args.value("grant"))
            let version = try PostgresMigrator.currentVersion(connection, schema: schema)
            let place = "\(configuration.redactedURL) (schema \(schema))"
            if applied.isEmpty {
                context.stdout.write("ledger schema at \(place) is current: version \(version)\n")
            } else {
                context.stdout.write("ledger schema at \(place): applied version\(applied.count == 1 ? "" : "s") "
                    + "\(applied.map(String.init).joined(separator: ", ")); now at version \(version)\n")
            }
            if let role = args.value("grant") {
                context.stdout.write("granted \(role): USAGE on schema \(schema); SELECT, INSERT on wanroute_ledger_events; "
                    + "SELECT, INSERT, UPDATE on wanroute_ledger_jobs, wanroute_ledger_job_coverage, wanroute_ledger_budget_checkpoints and wanroute_report_cache\n")
            }
            // The job summary of events written before it existed (or by an older wanroute), folded
            // now rather than by the first report.
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            defer { pool.close() }
            try await PostgresLedgerStore(pool: pool, schema: schema).catchUpSummary()
            context.stdout.write("job summary current for every month\n")
            return .ok
        } catch {
            throw .failure("\(error)")
        }
    }

    /// The ledger URL from `--ledger` or WANROUTE_LEDGER, with the password from the environment.
    static func postgresConfiguration(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> PostgresConfiguration {
        guard let url = args.value("ledger") ?? context.environment["WANROUTE_LEDGER"], !url.isEmpty else {
            throw .usage("no ledger named; give --ledger postgres://USER@HOST:PORT/DATABASE or set WANROUTE_LEDGER")
        }
        guard LedgerLocation.isPostgres(url) else {
            throw .usage("the ledger URL must start with postgres:// or postgresql:// (the file ledger needs no migration)")
        }
        return try postgresConfiguration(url: url, context)
    }

    /// A `postgres://` URL's configuration, the password from the URL, else WANROUTE_LEDGER_PASSWORD,
    /// else PGPASSWORD; errors never repeat it.
    static func postgresConfiguration(url: String, _ context: Context) throws(CLIError) -> PostgresConfiguration {
        let password = context.environment["WANROUTE_LEDGER_PASSWORD"] ?? context.environment["PGPASSWORD"]
        do {
            return try PostgresConfiguration(url: url, fallbackPassword: password)
        } catch {
            throw .usage("\(error)")
        }
    }
}
