package org.realmexport.common.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.kafka.common.config.types.Password;
import org.realmexport.common.config.RealmExportConfig;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A small pool of read-only connections to Zulip's PostgreSQL.
 *
 * <p>Connections come with auto-commit off (pgjdbc only streams a result set with a fetch size
 * inside a transaction), read-only (the exporter never writes) and REPEATABLE READ (every query
 * of one task sees the same snapshot, so realm.json is consistent with itself). Callers close
 * the connection; the pool rolls back whatever is left open.
 *
 * <p>The password (from the config or the URL) never reaches a log line: {@link #describe()}
 * and {@link #redact(String)} hide it.
 */
public final class Database implements AutoCloseable {
    private static final Pattern URL_SECRET = Pattern.compile("(?i)(password=)[^&;]*");

    private final HikariDataSource pool;
    private final String description;
    private volatile SchemaCatalog catalog;

    /**
     * @param jdbcUrl     {@code jdbc:postgresql://host:port/db?currentSchema=zulip...}
     * @param user        user, or null when the URL carries it
     * @param password    password, or null when the URL carries it (or none is needed)
     * @param maxPoolSize connections at most (a worker needs one per task in flight)
     * @param poolName    shown in the pool's own log lines and metrics
     */
    public Database(String jdbcUrl, String user, String password, int maxPoolSize, String poolName) {
        Objects.requireNonNull(jdbcUrl, "jdbc.url is required (env JDBC_URL)");
        this.description = redact(jdbcUrl);
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        if (user != null) {
            hc.setUsername(user);
        }
        if (password != null) {
            hc.setPassword(password);
        }
        hc.setPoolName(poolName);
        hc.setMaximumPoolSize(Math.max(1, maxPoolSize));
        hc.setMinimumIdle(0);
        hc.setAutoCommit(false);
        hc.setReadOnly(true);
        hc.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
        hc.setConnectionTimeout(10_000);
        // fail at start-up, with the (redacted) URL, rather than at the first task
        hc.setInitializationFailTimeout(10_000);
        try {
            this.pool = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot connect to PostgreSQL at " + description + ": "
                    + redact(String.valueOf(e.getMessage())), e);
        }
    }

    /** A pool from the shared settings {@code jdbc.url}, {@code jdbc.user}, {@code jdbc.password}. */
    public static Database open(RealmExportConfig config, int maxPoolSize, String poolName) {
        Password password = config.getPassword(RealmExportConfig.JDBC_PASSWORD);
        return new Database(config.getString(RealmExportConfig.JDBC_URL),
                config.getString(RealmExportConfig.JDBC_USER),
                password == null ? null : password.value(), maxPoolSize, poolName);
    }

    /** A read-only connection with auto-commit off; close it when done. */
    public Connection connection() throws SQLException {
        return pool.getConnection();
    }

    /** The schema catalog of the current schema, read on first use and then cached. */
    public SchemaCatalog catalog() throws SQLException {
        SchemaCatalog c = catalog;
        if (c == null) {
            synchronized (this) {
                c = catalog;
                if (c == null) {
                    try (Connection conn = connection()) {
                        c = SchemaCatalog.read(conn);
                        conn.rollback();
                    }
                    catalog = c;
                }
            }
        }
        return c;
    }

    /** The JDBC URL without its password, for log lines. */
    public String describe() {
        return description;
    }

    /** Hides a {@code password=} parameter of a JDBC URL (or of an error message quoting it). */
    public static String redact(String text) {
        return text == null ? null : URL_SECRET.matcher(text).replaceAll("$1***");
    }

    @Override
    public void close() {
        pool.close();
    }
}
