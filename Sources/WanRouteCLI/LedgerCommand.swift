import Foundation
import WanRoute
import WanRoutePostgres

/// `wanroute ledger migrate`: creates or updates the PostgreSQL ledger's tables.
enum LedgerCommand: Command {
    static let subcommands = ["migrate"]

    static let spec = CommandSpec(
        name: "ledger",
        summary: "The PostgreSQL ledger shared by several machines: 'ledger migrate' creates or updates its tables.",
        synopsis: "wanroute ledger migrate [--ledger URL] [--schema NAME] [--grant ROLE]",
        options: [
            OptionSpec("ledger", "URL", help: "The PostgreSQL ledger, postgres://USER@HOST:PORT/DATABASE (default: $WANROUTE_LEDGER)."),
            OptionSpec("schema", "NAME", help: "The PostgreSQL schema to hold the tables (default: public)."),
            OptionSpec("grant", "ROLE", help: "Grant ROLE what wanroute needs at run time: SELECT and INSERT on the events, nothing more."),
        ],
        positionals: "migrate",
        details: """
        Run it as the role that should own the tables (a database administrator), once per database and
        again after upgrading wanroute; it applies only what is missing, in one transaction, and several
        machines may run it at once. The events table is append-only: a trigger refuses UPDATE, DELETE
        and TRUNCATE to every role, its owner included.

        The password comes from the URL, else from WANROUTE_LEDGER_PASSWORD, else from PGPASSWORD, and
        is never printed. The URL must not ask for TLS (sslmode=require, verify-ca, verify-full): wanroute
        has none, so connect over a Unix socket, loopback, or a TLS-terminating sidecar on loopback
        (README, "PostgreSQL").

        Exit codes: 0 the schema is current; 1 the server could not be reached or refused; 64 a bad
        command line or URL.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        guard let word = args.positionals.first else {
            throw .usage("missing the subcommand; write 'wanroute ledger migrate'")
        }
        guard subcommands.contains(word), args.positionals.count == 1 else {
            let guess = Spelling.closest(to: word, among: subcommands).map { " (did you mean '\($0)'?)" } ?? ""
            throw .usage("unknown subcommand '\(args.positionals.joined(separator: " "))'\(guess); the only one is 'migrate'")
        }
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
                context.stdout.write("granted \(role): USAGE on schema \(schema); SELECT, INSERT on wanroute_ledger_events\n")
            }
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
