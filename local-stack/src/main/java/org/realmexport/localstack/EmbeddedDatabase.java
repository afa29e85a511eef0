package org.realmexport.localstack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * PostgreSQL refuses to run as root. The data directory is copied from a {@link PostgresTemplate}
 * (initdb'd once per machine, with Zulip's role, database and schema) when one is available: a
 * copy takes a fraction of initdb's time, which every test class would otherwise pay.
 */
final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);
    static final String DATABASE = "zulip";
    static final String ROLE = "zulip";
    static final String SCHEMA = "zulip";
    static final String SUPERUSER = "postgres";

    private final Path dataDir;
    private final int port;
    /** The running server; null while {@link #stop() stopped}. */
    private EmbeddedPostgres postgres;

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir) {
        this.postgres = postgres;
        this.dataDir = dataDir;
        this.port = postgres.getPort();
    }

    /** Starts a server on a free port with its data in {@code dataDir}, Zulip's role, database and schema in place. */
    static EmbeddedDatabase start(Path dataDir) throws IOException, SQLException {
        Path template = PostgresTemplate.ready();
        if (template != null) {
            try {
                PostgresTemplate.copy(template, dataDir);
                return new EmbeddedDatabase(configured(dataDir).start(), dataDir);
            } catch (IOException | RuntimeException e) {
                LOG.warn("PostgreSQL template {} is unusable ({}); discarding it and running initdb instead",
                        template, e.toString());
                PostgresTemplate.discard(template);
                Directories.deleteTree(dataDir);
            }
        }
        EmbeddedPostgres postgres = configured(dataDir).start();
        try {
            createZulipDatabase(postgres.getPort());
        } catch (SQLException | RuntimeException e) {
            postgres.close();
            throw e;
        }
        return new EmbeddedDatabase(postgres, dataDir);
    }

    /**
     * zonky's builder with the server settings of every stack. Settings go on the postmaster's
     * command line, so a data directory copied from the template gets them too.
     *
     * <p>zonky runs initdb when {@code dataDir} holds no cluster, else starts the one there. It
     * never deletes the directory on close ("clean" off), so that a stopped server can start
     * again on the same data; the stack deletes it with its temporary directory.
     */
    static EmbeddedPostgres.Builder configured(Path dataDir) {
        return EmbeddedPostgres.builder()
                // zonky would probe a free port itself; ours are never handed out twice in this
                // JVM, so stacks started side by side cannot race for one
                .setPort(LoopbackPorts.free())
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
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
                .setServerConfig("full_page_writes", "off")
                // zonky turns synchronous_commit off by default; logical decoding only sees flushed
                // WAL, so that would delay what Debezium captures by up to a WAL writer cycle.
                .setServerConfig("synchronous_commit", "on");
    }

    /** Creates what Zulip's installer creates: role zulip, database zulip owned by it, schema zulip in it. */
    static void createZulipDatabase(int port) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(port, "postgres", SUPERUSER, false));
             Statement s = c.createStatement()) {
            s.execute("CREATE ROLE " + ROLE + " WITH LOGIN REPLICATION");
            s.execute("CREATE DATABASE " + DATABASE + " OWNER " + ROLE + " ENCODING 'UTF8' TEMPLATE template0");
            // As Zulip's installer does, so that psql sessions of the role see Zulip's tables.
            s.execute("ALTER ROLE " + ROLE + " SET search_path TO " + SCHEMA + ", public");
        }
        try (Connection c = DriverManager.getConnection(url(port, DATABASE, SUPERUSER, false));
             Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + SCHEMA + " AUTHORIZATION " + ROLE);
        }
    }

    int port() {
        return port;
    }

    /**
     * Stops the server (fast mode: sessions are cut off, as in a server restart), keeping its data
     * directory and port for {@link #start()}.
     */
    synchronized void stop() throws IOException {
        if (postgres != null) {
            EmbeddedPostgres running = postgres;
            postgres = null;
            running.close();
        }
    }

    /** Starts the server again on the same port and data directory, after {@link #stop()}. */
    synchronized void start() throws IOException {
        if (postgres == null) {
            postgres = configured(dataDir).setPort(port).start();
        }
    }

    /** Zulip's own connection: role zulip, schema zulip. */
    String jdbcUrl() {
        return url(port(), DATABASE, ROLE, true);
    }

    /** The superuser's connection to the same database and schema, for DDL and replication in tests. */
    String adminJdbcUrl() {
        return url(port(), DATABASE, SUPERUSER, true);
    }

    private static String url(int port, String database, String user, boolean zulipSchema) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + user
                + (zulipSchema ? "&currentSchema=" + SCHEMA : "");
    }

    /** Stops the server (fast mode); the data directory goes with the stack's temporary directory. */
    @Override
    public void close() throws IOException {
        stop();
    }
}
