package org.realmexport.localstack.generator;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL (zonky's embedded binaries) for the generator's tests, with databases laid out
 * like a Zulip server's: owned by role {@code zulip}, tables in an empty schema {@code zulip}.
 * Test-only stand-in until {@code EmbeddedStack} (branch stack) lands in main.
 */
final class TestPostgres implements AutoCloseable {
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private final EmbeddedPostgres postgres;

    private TestPostgres(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** Quick settings for tests: no fsync, room for the WAL of a bulk load. */
    static TestPostgres start() {
        return start(Map.of("fsync", "off", "max_wal_size", "4GB"));
    }

    static TestPostgres start(Map<String, String> serverConfig) {
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
            serverConfig.forEach(builder::setServerConfig);
            EmbeddedPostgres pg = builder.start();
            TestPostgres t = new TestPostgres(pg);
            try (Connection c = t.admin("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE ROLE zulip LOGIN");
            }
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new empty database with an empty schema {@code zulip}; returns its name. */
    String newDatabase() {
        String name = "zulip_" + DATABASES.incrementAndGet();
        try (Connection c = admin("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name + " OWNER zulip");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        try (Connection c = admin(name); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA zulip AUTHORIZATION zulip");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    /** URL the way a Zulip deployment would be reached: role zulip, schema zulip. */
    String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/" + database + "?user=zulip&currentSchema=zulip";
    }

    Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database));
    }

    Connection admin(String database) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/" + database + "?user=postgres");
    }

    int port() {
        return postgres.getPort();
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
