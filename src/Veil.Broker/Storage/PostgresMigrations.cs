namespace Veil.Broker.Storage;

/// <summary>
/// Versioned PostgreSQL schema: each step runs once, in order, in its own transaction, while the starting broker
/// holds <see cref="AdvisoryLockKey"/> so that replicas starting together never race; never edit a shipped step.
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>pg_advisory_lock key: "veil" in ASCII, constant across versions so old and new brokers exclude each other.</summary>
    public const long AdvisoryLockKey = 0x7665696C;

    /// <summary>The channel that carries configuration versions (payload: the new version, as text).</summary>
    public const string ConfigChannel = "veil_config";

    public static int Latest => Steps.Max(s => s.Version);

    public static readonly IReadOnlyList<(int Version, string Sql)> Steps =
    [
        (1, """
            CREATE TABLE resources (
                name text PRIMARY KEY,
                sealed_value bytea NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE TABLE audit (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                resource text,
                evidence_digest text,
                outcome text NOT NULL,
                reason text NOT NULL
            );
            CREATE INDEX audit_at ON audit (at);
            CREATE TABLE policies (
                kind text NOT NULL,
                id text NOT NULL,
                body text NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (kind, id)
            );
            CREATE TABLE reference_values (
                id bigserial PRIMARY KEY,
                message text NOT NULL,
                added_at timestamptz NOT NULL
            );
            """),
        (2, """
            -- One row: bumped in the same transaction as every policy or reference-value write, then NOTIFYed.
            CREATE TABLE config_version (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                version bigint NOT NULL
            );
            INSERT INTO config_version (singleton, version) VALUES (true, 0);
            -- RCAR sessions shared by every replica. UNLOGGED: a session lives minutes, and a crash of PostgreSQL
            -- empties the table (every open handshake starts again with /auth), which fails closed; writes skip
            -- the WAL flush. The cookie value is a credential: only its SHA-256 is stored.
            CREATE UNLOGGED TABLE rcar_sessions (
                id_hash bytea PRIMARY KEY,
                tee text NOT NULL,
                nonce text NOT NULL UNIQUE,
                expires_at timestamptz NOT NULL,
                nonce_used boolean NOT NULL DEFAULT false,
                token text
            );
            CREATE INDEX rcar_sessions_expires ON rcar_sessions (expires_at);
            """),
        // What each audit row records, so that retention keeps releases and admin changes and prunes the rest
        // (the same step as SQLite's 3).
        (3, """
            ALTER TABLE audit ADD COLUMN kind text NOT NULL DEFAULT 'decision';
            ALTER TABLE audit ADD COLUMN retained boolean NOT NULL DEFAULT false;
            UPDATE audit SET kind = 'admin', retained = true WHERE actor = 'admin';
            UPDATE audit SET kind = 'release', retained = true WHERE action = 'release' AND outcome = 'allowed';
            UPDATE audit SET kind = 'unauthenticated' WHERE actor = 'anonymous';
            CREATE INDEX audit_retained_id ON audit (retained, id);
            """),
        // Version 4 belongs to the master-key work (issue 18); see SqliteMigrations' 5, which this step mirrors.
        (5, """
            ALTER TABLE audit ADD COLUMN subject text NOT NULL DEFAULT '';
            ALTER TABLE audit ADD COLUMN repository text;
            UPDATE audit SET subject = actor;
            UPDATE audit SET repository = split_part(resource, '/', 1)
                WHERE action IN ('put', 'delete', 'release') AND strpos(resource, '/') > 1;
            CREATE INDEX audit_repository_id ON audit (repository, id);
            """),
    ];
}
