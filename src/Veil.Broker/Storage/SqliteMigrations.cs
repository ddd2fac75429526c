namespace Veil.Broker.Storage;

/// <summary>Versioned schema: each step runs once, in order, in its own transaction; never edit a shipped step.</summary>
internal static class SqliteMigrations
{
    public static int Latest => Steps.Max(s => s.Version);

    public static readonly IReadOnlyList<(int Version, string Sql)> Steps =
    [
        (1, """
            CREATE TABLE resources (
                name TEXT PRIMARY KEY,
                sealed_value BLOB NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE TABLE audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                resource TEXT,
                evidence_digest TEXT,
                outcome TEXT NOT NULL,
                reason TEXT NOT NULL
            );
            CREATE INDEX audit_at ON audit(at);
            """),
        (2, """
            CREATE TABLE policies (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (kind, id)
            );
            CREATE TABLE reference_values (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                message TEXT NOT NULL,
                added_at TEXT NOT NULL
            );
            """),
        // What each audit row records, so that retention can keep releases and admin changes and prune the rest.
        (3, """
            ALTER TABLE audit ADD COLUMN kind TEXT NOT NULL DEFAULT 'decision';
            ALTER TABLE audit ADD COLUMN retained INTEGER NOT NULL DEFAULT 0;
            UPDATE audit SET kind = 'admin', retained = 1 WHERE actor = 'admin';
            UPDATE audit SET kind = 'release', retained = 1 WHERE action = 'release' AND outcome = 'allowed';
            UPDATE audit SET kind = 'unauthenticated' WHERE actor = 'anonymous';
            CREATE INDEX audit_retained_id ON audit(retained, id);
            """),
        // Version 4 belongs to the master-key work (issue 18); steps run by what is applied, not by the maximum, so
        // a store at 5 still gets 4 when it ships. Every row names its subject (the admin token's sub; older rows,
        // and callers with no identity, their actor) and the repository it concerns, for tenant-scoped audit reads.
        (5, """
            ALTER TABLE audit ADD COLUMN subject TEXT NOT NULL DEFAULT '';
            ALTER TABLE audit ADD COLUMN repository TEXT;
            UPDATE audit SET subject = actor;
            UPDATE audit SET repository = substr(resource, 1, instr(resource, '/') - 1)
                WHERE action IN ('put', 'delete', 'release') AND instr(resource, '/') > 1;
            CREATE INDEX audit_repository_id ON audit(repository, id);
            """),
    ];
}
