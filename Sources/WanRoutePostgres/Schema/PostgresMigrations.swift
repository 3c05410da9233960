/// Versioned schema changes, applied in order in one transaction, recorded in
/// `wanroute_schema_migrations`. Safe to run from several machines at once: a transaction-scoped
/// advisory lock lets one migrator work while the others wait, then find nothing left to do.
public struct PostgresMigration: Sendable, Equatable {
    /// Strictly increasing, starting at 1.
    public var version: Int
    /// What it does, for people.
    public var summary: String
    /// The statements, run one by one (the extended protocol takes one statement at a time).
    public var statements: [String]

    /// Creates a migration.
    public init(version: Int, summary: String, statements: [String]) {
        self.version = version
        self.summary = summary
        self.statements = statements
    }
}

/// Applies ``PostgresMigration``s.
public enum PostgresMigrator {
    /// The advisory lock key every migrator takes (an arbitrary constant: "wanroute" in ASCII).
    static let lockKey: Int64 = 0x7761_6e72_6f75_7465

    /// Applies every migration newer than the database's version and returns the versions applied
    /// now (empty when the schema was already current). A failure rolls every pending one back.
    @discardableResult
    /// The statements run with `search_path` set to `schema` alone, so their unqualified names land there.
    public static func migrate(_ connection: PostgresConnection, _ migrations: [PostgresMigration], schema: String = "public") throws -> [Int] {
        precondition(zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version }, "migrations must be in version order")
        // One transaction for all of it: DDL is transactional in PostgreSQL, so a failure leaves the
        // schema as it was, and the lock is taken before anything is created (two concurrent
        // CREATE TABLE IF NOT EXISTS can otherwise collide).
        return try connection.transaction { tx -> [Int] in
            _ = try tx.query("SELECT pg_advisory_xact_lock($1)", [.int(lockKey)])
            _ = try tx.query("SELECT set_config('search_path', $1, true)", [.text(PostgresIdentifier.quoted(schema))])
            _ = try tx.query(
                "CREATE TABLE IF NOT EXISTS wanroute_schema_migrations (version int4 PRIMARY KEY, summary text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            let done = Set(try tx.query("SELECT version FROM wanroute_schema_migrations").rows.map { try $0.decode(Int.self, at: 0) })
            var applied: [Int] = []
            for migration in migrations where !done.contains(migration.version) {
                for statement in migration.statements { _ = try tx.query(statement) }
                _ = try tx.query("INSERT INTO wanroute_schema_migrations (version, summary) VALUES ($1, $2)",
                                 [.int(Int64(migration.version)), .text(migration.summary)])
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// The newest version applied, or 0 for a database wanroute has never migrated.
    public static func currentVersion(_ connection: PostgresConnection, schema: String = "public") throws(PostgresError) -> Int {
        let table = "\(PostgresIdentifier.quoted(schema)).wanroute_schema_migrations"
        let exists = try connection.query("SELECT to_regclass($1) IS NOT NULL", [.text(table)]).rows[0].decode(Bool.self, at: 0)
        guard exists else { return 0 }
        return try connection.query("SELECT coalesce(max(version), 0) FROM \(table)").rows[0].decode(Int.self, at: 0)
    }
}

/// SQL identifiers for names that cannot be parameters (schemas, roles, tables).
public enum PostgresIdentifier {
    /// The name in double quotes with inner quotes doubled, so no name can end the identifier
    /// early; NUL, which PostgreSQL cannot store, is dropped.
    public static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"").replacingOccurrences(of: "\u{0}", with: "") + "\""
    }
}
