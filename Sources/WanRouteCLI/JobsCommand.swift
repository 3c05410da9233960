import Foundation
import WanRoute
import WanRoutePostgres

/// Where the ledger lives, one rule for every command that reads or writes it: `--ledger DIR|URL`,
/// else `$WANROUTE_LEDGER` (a `postgres://` URL: the shared PostgreSQL ledger), else the file ledger
/// at `$WANROUTE_HOME/ledger`, else `$XDG_DATA_HOME/wanroute/ledger`, else
/// `~/.local/share/wanroute/ledger`. Sandbox runs keep their own file ledger beside it
/// (`sandbox-ledger`) unless `--ledger` names one: simulated spend never counts against real budgets.
enum LedgerLocation {
    static let option = OptionSpec("ledger", "DIR|URL", help: "The ledger: a directory, or postgres://USER@HOST:PORT/DATABASE for the shared PostgreSQL ledger (default $WANROUTE_LEDGER, else the directory $WANROUTE_HOME/ledger, else $XDG_DATA_HOME/wanroute/ledger, else ~/.local/share/wanroute/ledger; sandbox-ledger beside it with --sandbox). The PostgreSQL password comes from $WANROUTE_LEDGER_PASSWORD or $PGPASSWORD.")

    /// A file ledger's directory, or a PostgreSQL ledger's connection (its password never printed).
    enum Place: CustomStringConvertible {
        case directory(String)
        case postgres(PostgresConfiguration)

        var description: String {
            switch self {
            case .directory(let path): return path
            case .postgres(let configuration): return configuration.redactedURL
            }
        }
    }

    static func place(_ args: ParsedArguments, _ context: Context, sandbox: Bool = false) throws(CLIError) -> Place {
        if let named = args.value("ledger") {
            return isPostgres(named) ? .postgres(try LedgerCommand.postgresConfiguration(url: named, context)) : .directory(context.url(named).path)
        }
        // One rule for every command (``LedgerOptions``); the sandbox's ledger sits beside it.
        let ledger = LedgerOptions.directory(context.environment)
        if sandbox { return .directory((ledger as NSString).deletingLastPathComponent + "/sandbox-ledger") }
        if let url = context.environment["WANROUTE_LEDGER"], !url.isEmpty {
            guard isPostgres(url) else { throw .usage("WANROUTE_LEDGER must be a postgres:// URL (WANROUTE_HOME moves the file ledger)") }
            return .postgres(try LedgerCommand.postgresConfiguration(url: url, context))
        }
        return .directory(ledger)
    }

    static func isPostgres(_ text: String) -> Bool { text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") }

    /// A ledger error as the CLI reports it: a damaged ledger is a bad data file (65).
    static func failure(_ error: any Error) -> CLIError {
        if case .damaged? = error as? LedgerError { return .dataMessage("\(error)") }
        return .failure("\(error)")
    }

    /// Opens the ledger, reporting torn tails set aside on stderr; nil when a file ledger does not
    /// exist yet (an audit never creates one). `create` makes the file ledger's directory.
    static func open(_ place: Place, _ context: Context, command: String, create: Bool = false, quiet: Bool = false) throws(CLIError) -> (any LedgerStore)? {
        switch place {
        case .directory(let directory):
            if !create {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            }
            do {
                let store = try FileLedgerStore(directory: directory)
                for torn in store.recoveries where !quiet { context.stderr.write("wanroute \(command): warning: \(torn)\n") }
                return store
            } catch {
                throw failure(error)
            }
        case .postgres(let configuration):
            return try openPostgres(configuration)
        }
    }

    /// The PostgreSQL store, after one round trip that proves the server answers, the login works
    /// and the tables exist, so a command fails at once with a clear message, never half-way.
    static func openPostgres(_ configuration: PostgresConfiguration, schema: String = "public") throws(CLIError) -> PostgresLedgerStore {
        let pool = PostgresPool(configuration: configuration, maximumConnections: 4)
        let migrated: Bool, summarised: Bool
        do {
            (migrated, summarised) = try pool.withConnection { connection in
                let row = try connection.query("SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
                                               [.text("\(PostgresIdentifier.quoted(schema)).wanroute_ledger_events"),
                                                .text("\(PostgresIdentifier.quoted(schema)).wanroute_ledger_jobs")]).rows[0]
                return (try row.decode(Bool.self, at: 0), try row.decode(Bool.self, at: 1))
            }
        } catch {
            pool.close()
            throw .failure("cannot use the PostgreSQL ledger at \(configuration.redactedURL): \(error)")
        }
        guard migrated else {
            pool.close()
            throw .failure("the PostgreSQL ledger at \(configuration.redactedURL) has no wanroute tables in schema \(schema); run 'wanroute ledger migrate' as their owner first (README, \"PostgreSQL\")")
        }
        guard summarised else {
            pool.close()
            throw .failure("the PostgreSQL ledger at \(configuration.redactedURL) is at schema version 1 (no job summary) in schema \(schema); run 'wanroute ledger migrate' as the tables' owner to bring it to version 2 (README, \"PostgreSQL\")")
        }
        return PostgresLedgerStore(pool: pool, schema: schema)
    }
}

/// `wanroute jobs`: what happened to each job, from the ledger.
enum JobsCommand: Command {
    static let spec = CommandSpec(
        name: "jobs",
        summary: "List jobs from the ledger with their status and costs; 'jobs show ID' for every event of one.",
        synopsis: "wanroute jobs [--month YYYY-MM] [--status S] [--format table|json] [--ledger DIR|URL] | wanroute jobs show ID [--format table|json]",
        options: [
            OptionSpec("month", "YYYY-MM", help: "The UTC month whose jobs to list (default: this month)."),
            OptionSpec("status", "S", help: "Only jobs with this status: \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))."),
            OptionSpec("format", "F", help: "table (default) or json."),
            LedgerLocation.option,
            OptionSpec("sandbox", help: "Read the sandbox's ledger (jobs run with run --sandbox)."),
        ],
        positionals: "show ID",
        details: """
        A job is listed in the month of its first event. Its status is the fold of its events:
        decided, refused, submitted (a submission left and no answer is recorded), accepted (the
        provider holds the task and has not reported it running), queued (waiting again after
        running), running, failing-over, succeeded, failed, outcome-unknown, unfinished,
        needs-attention.

        JSON: {"jobs": [{"id", "status", "provider", "mode", "resolution", "task_id", "estimated_cost",
        "actual_cost", "actual_cost_source", "reserved_usd", "settled_usd", "submitted_at",
        "finished_at", "detail"}]}; money as {"amount": "<decimal>", "currency": "USD"}, or null when
        unknown. 'jobs show ID --format json' prints {"job": {…}, "events": [the ledger lines]}.

        Exit 0; 1 when the ledger cannot be read or 'jobs show' finds no such job; 65 when a ledger
        line is damaged (named with its file and line); 64 a bad command line.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json])
        let place = try LedgerLocation.place(args, context, sandbox: args.flag("sandbox"))
        if let word = args.positionals.first {
            guard word == "show" else { throw .usage("unknown subcommand '\(word)'; write 'wanroute jobs show ID'") }
            guard args.positionals.count == 2 else { throw .usage("write 'wanroute jobs show ID' with one job id") }
            for flag in ["month", "status"] where args.flag(flag) { throw .usage("--\(flag) goes with the job list, not 'jobs show'") }
            return try await show(args.positionals[1], place: place, format: format, context)
        }
        let month: LedgerMonth
        if let text = args.value("month") {
            guard let m = LedgerMonth(text) else { throw .usage("--month takes YYYY-MM, such as 2026-12, not '\(text)'") }
            month = m
        } else {
            month = LedgerTime(Date()).month
        }
        var status: JobStatus?
        if let text = args.value("status") {
            guard let s = JobStatus(rawValue: text) else {
                throw .usage("'\(text)' is not a job status (\(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            status = s
        }
        var states: [JobState] = []
        if let store = try LedgerLocation.open(place, context, command: "jobs") {
            do {
                var book = JobBook()
                var inMonth = Set<String>()
                // Jobs that started this month, folded over every month from this one on (a job may end later).
                for m in try await store.months() where m >= month {
                    try await store.forEachRecord(in: m) { r in
                        if m == month { inMonth.insert(r.event.jobID) }
                        if inMonth.contains(r.event.jobID) { book.apply(r) }
                    }
                }
                states = book.order.compactMap { book.states[$0] }
            } catch {
                throw LedgerLocation.failure(error)
            }
        }
        if let status { states = states.filter { $0.status == status } }
        switch format {
        case .json:
            context.stdout.write(JSONWriter.pretty(.object([JSONMember("jobs", .array(states.map(json)))])) + "\n")
        default:
            var table = TextTable(["JOB", "STATUS", "PROVIDER", "MODE", "RES", "TASK", "ESTIMATE", "ACTUAL"])
            table.lastColumnWidth = nil
            for s in states {
                table.rows.append([s.id, s.status.rawValue, s.provider?.rawValue ?? "-", s.mode?.rawValue ?? "-", s.resolution?.rawValue ?? "-",
                                   s.taskID ?? "-", s.estimatedCost?.description ?? "unknown", s.actualCost?.description ?? (s.submissions > 0 ? "unknown" : "-")])
            }
            context.stdout.write(states.isEmpty ? "no jobs in \(month)\n" : table.rendered)
        }
        return .ok
    }

    static func show(_ id: String, place: LedgerLocation.Place, format: OutputFormat, _ context: Context) async throws(CLIError) -> ExitCode {
        guard let store = try LedgerLocation.open(place, context, command: "jobs") else {
            throw .failure("the ledger at \(place) holds no jobs")
        }
        let records: [LedgerRecord]
        do { records = try await store.records(forJob: id) } catch { throw LedgerLocation.failure(error) }
        guard let state = JobState.fold(records) else { throw .failure("no job \"\(id)\" in the ledger at \(place)") }
        let lines = records.map { String(decoding: LedgerCodec.encode($0).dropLast(), as: UTF8.self) }
        switch format {
        case .json:
            var events: [JSONValue] = []
            for line in lines { if let v = try? JSONParser.parse(line) { events.append(v) } }
            context.stdout.write(JSONWriter.pretty(.object([JSONMember("job", json(state)), JSONMember("events", .array(events))])) + "\n")
        default:
            var out = "job \(state.id): \(state.status.rawValue)"
            if let p = state.provider { out += " on \(p)" + (state.mode.map { " \($0.rawValue)" } ?? "") + (state.resolution.map { " \($0.rawValue)" } ?? "") }
            out += "\n"
            if let t = state.taskID { out += "task: \(t)\n" }
            out += "estimate: \(state.estimatedCost?.description ?? "unknown")\n"
            out += "actual: \(state.actualCost?.description ?? "unknown")" + (state.actualCostSource.map { " (\($0.rawValue))" } ?? "") + "\n"
            if state.openReservation.nanos > 0 { out += "reserved, not settled: \(state.openReservation)\n" }
            if let d = state.detail { out += "detail: \(d)\n" }
            out += "events:\n" + lines.map { "  \($0)\n" }.joined()
            context.stdout.write(out)
        }
        return .ok
    }

    static func money(_ m: Money?) -> JSONValue {
        m.map { .object([JSONMember("amount", .string($0.decimalString)), JSONMember("currency", .string($0.currency.code))]) } ?? .null
    }

    static func json(_ s: JobState) -> JSONValue {
        .object([
            JSONMember("id", .string(s.id)),
            JSONMember("status", .string(s.status.rawValue)),
            JSONMember("provider", .optional(s.provider?.rawValue)),
            JSONMember("mode", .optional(s.mode?.rawValue)),
            JSONMember("resolution", .optional(s.resolution?.rawValue)),
            JSONMember("task_id", .optional(s.taskID)),
            JSONMember("estimated_cost", money(s.estimatedCost)),
            JSONMember("actual_cost", money(s.actualCost)),
            JSONMember("actual_cost_source", .optional(s.actualCostSource?.rawValue)),
            JSONMember("reserved_usd", s.openReservation.nanos > 0 ? money(s.openReservation) : .null),
            JSONMember("settled_usd", money(s.settled)),
            JSONMember("submitted_at", .optional(s.submittedAt?.description)),
            JSONMember("finished_at", .optional(s.finishedAt?.description)),
            JSONMember("detail", .optional(s.detail)),
        ])
    }
}
