package org.realmexport.producer;

import org.apache.kafka.common.config.types.Password;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.event.ExportStatus;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.Properties;

/**
 * The writes to Zulip's {@code zerver_realmexport} rows, as Zulip's own export worker makes them:
 * status 2 (STARTED) and {@code date_started}; 3 (SUCCEEDED), {@code date_succeeded},
 * {@code export_path}, {@code sha256sum_hex}, {@code tarball_size_bytes}, {@code stats}; 4 (FAILED)
 * and {@code date_failed}. Each write only moves a row forward (1 → 2 → 3 or 4), so applying the
 * same status twice, or an older one late, changes nothing. One connection of the watcher's role
 * ({@code watch.jdbc.user}), reopened after an error.
 */
final class RealmExportTable implements AutoCloseable {
    static final int REQUESTED = 1;
    static final int STARTED = 2;
    static final int SUCCEEDED = 3;
    static final int FAILED = 4;

    private final String url;
    private final Properties login = new Properties();
    private Connection connection;

    RealmExportTable(ExportProducerConfig config) {
        this.url = config.getString(ExportProducerConfig.JDBC_URL);
        if (url == null) {
            throw new IllegalArgumentException("jdbc.url is required (env JDBC_URL)");
        }
        String user = config.getString(ExportProducerConfig.WATCH_JDBC_USER);
        Password password = config.getPassword(ExportProducerConfig.WATCH_JDBC_PASSWORD);
        if (user == null || user.isBlank()) {
            user = config.getString(ExportProducerConfig.JDBC_USER);
            password = config.getPassword(ExportProducerConfig.JDBC_PASSWORD);
        }
        if (user != null && !user.isBlank()) {
            login.setProperty("user", user);
        }
        if (password != null) {
            login.setProperty("password", password.value());
        }
    }

    /** The role the watcher connects as: watch.jdbc.user, else jdbc.user, else the URL's. */
    Properties login() {
        return login;
    }

    String url() {
        return url;
    }

    /** Planning started (or is done): 1 → 2. */
    boolean started(long rowId, long at) throws SQLException {
        return update("UPDATE zerver_realmexport SET status = " + STARTED + ", date_started = ? WHERE id = ? AND status = "
                + REQUESTED, ps -> {
                    ps.setTimestamp(1, new Timestamp(at));
                    ps.setLong(2, rowId);
                });
    }

    /** 1 or 2 → 3, with where the tarball is and what it holds. */
    boolean succeeded(ExportStatus s) throws SQLException {
        return update("UPDATE zerver_realmexport SET status = " + SUCCEEDED + ", date_started = COALESCE(date_started, ?),"
                + " date_succeeded = ?, export_path = ?, sha256sum_hex = ?, tarball_size_bytes = ?, stats = CAST(? AS jsonb)"
                + " WHERE id = ? AND status IN (" + REQUESTED + ", " + STARTED + ")", ps -> {
                    Timestamp at = new Timestamp(s.updatedAt());
                    ps.setTimestamp(1, at);
                    ps.setTimestamp(2, at);
                    ps.setString(3, s.tarball());
                    ps.setString(4, s.sha256());
                    if (s.size() == null) {
                        ps.setNull(5, Types.BIGINT);
                    } else {
                        ps.setLong(5, s.size());
                    }
                    ps.setString(6, s.rows() == null ? null : new String(Json.toBytes(s.rows()),
                            java.nio.charset.StandardCharsets.UTF_8));
                    ps.setLong(7, s.realmExportId());
                });
    }

    /** 1 or 2 → 4. */
    boolean failed(long rowId, long at) throws SQLException {
        return update("UPDATE zerver_realmexport SET status = " + FAILED + ", date_failed = ? WHERE id = ? AND status IN ("
                + REQUESTED + ", " + STARTED + ")", ps -> {
                    ps.setTimestamp(1, new Timestamp(at));
                    ps.setLong(2, rowId);
                });
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private synchronized boolean update(String sql, Binder binder) throws SQLException {
        try {
            if (connection == null || connection.isClosed()) {
                connection = DriverManager.getConnection(url, login);
                connection.setAutoCommit(true);
            }
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                binder.bind(ps);
                return ps.executeUpdate() > 0;
            }
        } catch (SQLException e) {
            closeConnection();
            throw new SQLException("update of zerver_realmexport failed: " + Database.redact(String.valueOf(e.getMessage())),
                    e.getSQLState(), e);
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already broken
            }
            connection = null;
        }
    }

    @Override
    public synchronized void close() {
        closeConnection();
    }
}
