package org.realmexport.localstack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * A PostgreSQL 17 server (zonky's embedded binaries, a child process) shaped like a Zulip
 * server's: role {@code zulip} owning database {@code zulip} and its empty schema {@code zulip},
 * with logical replication on so that Debezium can capture {@code zerver_realmexport}.
 *
 * <p>zonky unpacks the binaries once into {@code java.io.tmpdir/embedded-pg} (shared, kept as a
 * cache) and, when the JVM runs as root, wraps initdb and postgres with {@code unshare} because
 * PostgreSQL refuses to run as root.
 */
final class EmbeddedDatabase implements AutoCloseable {
    static final String DATABASE = "zulip";
    static final String ROLE = "zulip";
    static final String SCHEMA = "zulip";
    private static final String SUPERUSER = "postgres";

    private final EmbeddedPostgres postgres;

    private EmbeddedDatabase(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** Initialises a cluster in {@code dataDir}, starts it on a free port and creates Zulip's role, database and schema. */
    static EmbeddedDatabase start(Path dataDir) throws IOException, SQLException {
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(true)
                // EmbeddedStack owns the one shutdown hook; zonky's would keep every instance reachable.
                .setRegisterShutdownHook(false)
                .setPGStartupWait(Duration.ofSeconds(60))
                .setServerConfig("wal_level", "logical")
                .setServerConfig("max_replication_slots", "8")
                .setServerConfig("max_wal_senders", "8")
                .setServerConfig("shared_buffers", "32MB")
                .setServerConfig("max_connections", "100")
                // Throw-away data: durability buys nothing and costs the generator most of its time.
                .setServerConfig("fsync", "off")
                // zonky turns synchronous_commit off by default; logical decoding only sees flushed
                // WAL, so that would delay what Debezium captures by up to a WAL writer cycle.
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("full_page_writes", "off")
                .start();
        EmbeddedDatabase database = new EmbeddedDatabase(postgres);
        try {
            database.createZulipDatabase();
        } catch (SQLException | RuntimeException e) {
            database.close();
            throw e;
        }
        return database;
    }

    int port() {
        return postgres.getPort();
    }

    /** Zulip's own connection: role zulip, schema zulip. */
    String jdbcUrl() {
        return url(DATABASE, ROLE);
    }

    /** The superuser's connection to the same database and schema, for DDL and replication in tests. */
    String adminJdbcUrl() {
        return url(DATABASE, SUPERUSER);
    }

    private String url(String database, String user) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database + "?user=" + user + "&currentSchema=" + SCHEMA;
    }

    private void createZulipDatabase() throws SQLException {
        String postgresDb = "jdbc:postgresql://127.0.0.1:" + port() + "/postgres?user=" + SUPERUSER;
        try (Connection c = DriverManager.getConnection(postgresDb); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE " + ROLE + " WITH LOGIN REPLICATION");
            s.execute("CREATE DATABASE " + DATABASE + " OWNER " + ROLE + " ENCODING 'UTF8' TEMPLATE template0");
            // As Zulip's installer does, so that psql sessions of the role see Zulip's tables.
            s.execute("ALTER ROLE " + ROLE + " SET search_path TO " + SCHEMA + ", public");
        }
        String zulipDb = "jdbc:postgresql://127.0.0.1:" + port() + "/" + DATABASE + "?user=" + SUPERUSER;
        try (Connection c = DriverManager.getConnection(zulipDb); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + SCHEMA + " AUTHORIZATION " + ROLE);
        }
    }

    /** Stops the server (fast mode) and deletes its data directory. */
    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
