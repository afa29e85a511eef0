package org.realmexport.common.db;

import org.realmexport.common.config.RealmExportConfig;

import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Set;

/**
 * How often, and how patiently, work that failed on a transient database fault is redone.
 *
 * <p>A fault is transient when the same work may well succeed a few seconds later: the connection
 * was closed or refused (SQLState class 08, pgjdbc's I/O errors, HikariCP's closed connection),
 * the server is shutting down or restarting (57P01-57P03), the transaction lost a serialization
 * race (40001, 40P01), or the pool gave no connection in time. Anything else (a syntax error, a
 * missing table, an anomaly in the data) fails at once: redoing it would give the same answer.
 *
 * @param attempts     attempts in all, the first included; 1 never retries
 * @param backoffMs    wait before the second attempt; it doubles for each further one
 * @param maxBackoffMs the longest wait between two attempts
 */
public record RetryPolicy(int attempts, long backoffMs, long maxBackoffMs) {
    private static final Set<String> TRANSIENT_STATES = Set.of("57P01", "57P02", "57P03", "40001", "40P01");

    public RetryPolicy {
        if (attempts < 1 || backoffMs < 0 || maxBackoffMs < backoffMs) {
            throw new IllegalArgumentException("retry policy needs attempts >= 1 and 0 <= backoff <= max backoff");
        }
    }

    /** The policy of the shared settings {@code db.retry.attempts} and {@code db.retry.backoff(.max).ms}. */
    public static RetryPolicy of(RealmExportConfig config) {
        return new RetryPolicy(config.getInt(RealmExportConfig.DB_RETRY_ATTEMPTS),
                config.getLong(RealmExportConfig.DB_RETRY_BACKOFF_MS),
                config.getLong(RealmExportConfig.DB_RETRY_BACKOFF_MAX_MS));
    }

    /** Whether work that failed with {@code error} on attempt {@code attempt} (1-based) is tried again. */
    public boolean retries(Throwable error, int attempt) {
        return attempt < attempts && isTransient(error);
    }

    /** The wait after the failed attempt {@code attempt} (1-based): backoff, doubled each time, capped. */
    public long delayMs(int attempt) {
        long delay = backoffMs;
        for (int i = 1; i < attempt && delay < maxBackoffMs; i++) {
            delay *= 2;
        }
        return Math.min(delay, maxBackoffMs);
    }

    /** Whether {@code error}, or any of its causes, is a database fault that may pass by itself. */
    public static boolean isTransient(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientException) { // pool timeouts, SQLTransientConnectionException
                return true;
            }
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                if (state != null && (state.startsWith("08") || TRANSIENT_STATES.contains(state))) {
                    return true;
                }
                // HikariCP's "Connection is closed" when the server went away under a borrowed connection
                if (state == null && String.valueOf(sql.getMessage()).contains("Connection is closed")) {
                    return true;
                }
            }
        }
        return false;
    }
}
