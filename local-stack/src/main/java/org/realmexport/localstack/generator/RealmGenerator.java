package org.realmexport.localstack.generator;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Optional;

/**
 * Writes a deterministic, Zulip-shaped organization into PostgreSQL: the {@code zulipinternal}
 * system realm with its bots (when missing), a primary realm with N messages and a secondary realm
 * with about N/10 whose message ids interleave with the primary's, with everything an export reads
 * (users, bots, a mirror dummy, groups, public/private/protected-history streams, direct messages
 * and direct-message groups, usermessages with Zulip's flag bits, reactions, attachments and their
 * files, avatars, custom emoji, a realm icon, scheduled messages, audit log, presence and activity,
 * analytics counts, django_migrations) plus a few tables Zulip never exports.
 *
 * <pre>{@code
 * GeneratedRealms realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(100_000)
 *         .withUploadsDir(uploads)).generate(jdbcUrl);
 * }</pre>
 *
 * <p>The same seed and options always give byte-identical table contents and upload files: every
 * value comes from a seeded generator and fixed time bases, never the clock. When the current
 * schema has no Zulip tables it is created ({@link ZulipSchema}); keys, indexes and foreign keys
 * are then added after the bulk load. Everything happens in one transaction: on any failure
 * nothing is left in the database or the uploads directory, and a {@link GeneratorException} with
 * one clear line says why.
 */
public final class RealmGenerator {
    private static final Logger log = LoggerFactory.getLogger(RealmGenerator.class);

    /**
     * Zulip's {@code AVATAR_SALT} for the avatar file names written here. A real server has its
     * own secret value; an exporter computing avatar paths must use the server's.
     */
    public static final String AVATAR_SALT = "realm-export-generator";

    private final GeneratorOptions options;

    public RealmGenerator(GeneratorOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    public GeneratorOptions options() {
        return options;
    }

    /** Connects to {@code jdbcUrl} (which may name a schema with {@code currentSchema=}) and generates. */
    public GeneratedRealms generate(String jdbcUrl) {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        Connection connection;
        try {
            connection = DriverManager.getConnection(jdbcUrl);
        } catch (SQLException e) {
            throw new GeneratorException("cannot connect to PostgreSQL at " + redact(jdbcUrl) + ": " + oneLine(e.getMessage()), e);
        }
        try (connection) {
            return generate(connection);
        } catch (SQLException e) {
            throw new GeneratorException("closing the connection failed: " + oneLine(e.getMessage()), e);
        }
    }

    /**
     * Generates on the caller's connection, in a transaction of its own (auto-commit is turned off
     * for the duration and restored after).
     */
    public GeneratedRealms generate(Connection connection) {
        long started = System.nanoTime();
        boolean autoCommit;
        try {
            autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
        } catch (SQLException e) {
            throw new GeneratorException("cannot use the database connection: " + oneLine(e.getMessage()), e);
        }
        UploadStager stager = null;
        try {
            Optional<Path> uploadsDir = options.uploadsDir();
            if (uploadsDir.isPresent()) {
                try {
                    stager = new UploadStager(uploadsDir.get());
                } catch (IOException e) {
                    throw new GeneratorException("cannot write upload files under " + uploadsDir.get() + ": " + oneLine(e.toString()), e);
                }
            }
            GeneratedRealms result = new GeneratorRun(options, connection, AVATAR_SALT).run(Optional.ofNullable(stager));
            if (stager != null) {
                stager.publish();
            }
            try {
                connection.commit();
            } catch (SQLException e) {
                if (stager != null) {
                    stager.unpublish();
                }
                throw e;
            }
            long millis = Math.max(1, (System.nanoTime() - started) / 1_000_000);
            log.info("Generated realms '{}' (id {}: {} messages, {} usermessages) and '{}' (id {}: {} messages, {} usermessages): "
                            + "{} rows in {} ms ({} rows/s)",
                    result.primary().stringId(), result.primary().realmId(), result.primary().messages(), result.primary().userMessages(),
                    result.secondary().stringId(), result.secondary().realmId(), result.secondary().messages(), result.secondary().userMessages(),
                    result.totalRows(), millis, result.totalRows() * 1000 / millis);
            return result;
        } catch (GeneratorException e) {
            rollback(connection, stager);
            throw e;
        } catch (SQLException e) {
            rollback(connection, stager);
            throw new GeneratorException("generating the realms failed, nothing was written: " + oneLine(e.getMessage()), e);
        } catch (IOException e) {
            rollback(connection, stager);
            throw new GeneratorException("writing the upload files failed, nothing was written: " + oneLine(e.toString()), e);
        } catch (RuntimeException | Error e) {
            rollback(connection, stager);
            throw e;
        } finally {
            if (stager != null) {
                stager.close();
            }
            try {
                connection.setAutoCommit(autoCommit);
            } catch (SQLException ignored) {
                // the connection is broken; the caller finds out on its next use
            }
        }
    }

    private static void rollback(Connection connection, UploadStager stager) {
        if (stager != null) {
            stager.unpublish();
        }
        try {
            connection.rollback();
        } catch (SQLException e) {
            log.warn("Rolling back the failed generation failed too ({}); the transaction ends with the connection", oneLine(e.getMessage()));
        }
    }

    /** The URL without a password parameter, fit for a message. */
    static String redact(String jdbcUrl) {
        return jdbcUrl.replaceAll("(?i)(password=)[^&]*", "$1***");
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "(no detail)";
        }
        int nl = message.indexOf('\n');
        return (nl < 0 ? message : message.substring(0, nl)).trim();
    }
}
