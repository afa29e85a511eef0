package org.realmexport.cli;

import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.Database;
import org.realmexport.localstack.generator.GeneratedRealm;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorException;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        header = "Writes a synthetic Zulip realm into a PostgreSQL database.",
        description = "Writes a deterministic synthetic realm (plus a small second realm and the system bots' "
                + "realm) into a PostgreSQL database, creating the zulip schema's tables when missing, and "
                + "prints a summary. Everything is written in one transaction: on failure nothing is left.")
class GenerateCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--messages", required = true, paramLabel = "N", description = "Messages of the main realm "
            + "(the second realm gets a tenth).")
    int messages;

    @Option(names = "--users", paramLabel = "N", description = "Humans of the main realm (default: from --messages).")
    Integer users;

    @Option(names = "--streams", paramLabel = "N", description = "Streams of the main realm (default: from the users).")
    Integer streams;

    @Option(names = "--seed", paramLabel = "K", description = "Random seed: the same seed and options give the same "
            + "realm (default " + GeneratorOptions.DEFAULT_SEED + ").")
    Long seed;

    @Option(names = "--string-ids", paramLabel = "MAIN,SECOND", split = ",",
            description = "string_ids of the two realms (default " + GeneratorOptions.DEFAULT_PRIMARY_STRING_ID + ","
                    + GeneratorOptions.DEFAULT_SECONDARY_STRING_ID + "); an existing string_id is refused.")
    List<String> stringIds;

    @Override
    public Integer call() {
        requireNotNegative("--messages", messages);
        requireNotNegative("--users", users);
        requireNotNegative("--streams", streams);
        if (stringIds != null && stringIds.size() != 2) {
            throw new UsageException("--string-ids takes two string_ids, MAIN,SECOND");
        }
        Map<String, Object> settings = Settings.resolve(root.environment(), null, database);
        Object jdbcUrl = settings.get(RealmExportConfig.JDBC_URL);
        if (jdbcUrl == null) {
            throw new UsageException("no database: give --jdbc URL or set JDBC_URL");
        }
        Object uploads = settings.get(RealmExportConfig.UPLOADS_DIR);
        try {
            GeneratorOptions options = GeneratorOptions.defaults().withMessages(messages);
            if (users != null) {
                options = options.withUsers(users);
            }
            if (streams != null) {
                options = options.withStreams(streams);
            }
            if (seed != null) {
                options = options.withSeed(seed);
            }
            if (stringIds != null) {
                options = options.withRealmStringIds(stringIds.get(0), stringIds.get(1));
            }
            if (uploads != null) {
                options = options.withUploadsDir(Path.of(uploads.toString()));
            }
            long started = System.nanoTime();
            GeneratedRealms realms = generate(new RealmGenerator(options), jdbcUrl.toString(), settings);
            printSummary(spec.commandLine().getOut(), realms, System.nanoTime() - started);
            return RealmExportCommand.OK;
        } catch (GeneratorException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    /** With JDBC_USER/JDBC_PASSWORD the connection is opened here; otherwise the URL carries everything. */
    private static GeneratedRealms generate(RealmGenerator generator, String jdbcUrl, Map<String, Object> settings) {
        Object user = settings.get(RealmExportConfig.JDBC_USER);
        if (user == null) {
            return generator.generate(jdbcUrl);
        }
        Object password = settings.get(RealmExportConfig.JDBC_PASSWORD);
        try (Connection connection = DriverManager.getConnection(jdbcUrl, user.toString(),
                password == null ? null : password.toString())) {
            return generator.generate(connection);
        } catch (SQLException e) {
            throw new UsageException("cannot connect to PostgreSQL at " + Database.redact(jdbcUrl) + ": "
                    + Database.redact(e.getMessage()), e);
        }
    }

    static void printSummary(PrintWriter out, GeneratedRealms realms, long nanos) {
        double seconds = Math.max(nanos, 1) / 1e9;
        out.printf(Locale.ROOT, "generated %d rows in %.1f s (%.0f rows/s)%n", realms.totalRows(), seconds,
                realms.totalRows() / seconds);
        for (GeneratedRealm realm : List.of(realms.primary(), realms.secondary())) {
            out.printf(Locale.ROOT, "realm %-8s id %d: %d messages (ids %d..%d), %d usermessages, %d users (%d humans, "
                            + "%d bots, %d mirror dummies, %d consenting), %d streams (%d private), "
                            + "%d direct-message groups, %d attachments%n",
                    "'" + realm.stringId() + "'", realm.realmId(), realm.messages(), realm.firstMessageId(),
                    realm.lastMessageId(), realm.userMessages(), realm.users(), realm.humans(), realm.bots(),
                    realm.mirrorDummies(), realm.consentingUsers(), realm.streams(), realm.privateStreams(),
                    realm.directMessageGroups(), realm.attachments());
        }
        out.printf("system bots in realm id %d (zulipinternal)%n", realms.internalRealmId());
        realms.uploadsDir().ifPresent(dir -> out.printf(
                "upload files under %s; the shard workers find the avatars with AVATAR_SALT=%s%n", dir, realms.avatarSalt()));
        out.println("rows per table:");
        realms.tableRowCounts().forEach((table, rows) -> out.printf(Locale.ROOT, "  %-40s %10d%n", table, rows));
    }

    private static void requireNotNegative(String option, Number value) {
        if (value != null && value.longValue() < 0) {
            throw new UsageException(option + " must not be negative (got " + value + ")");
        }
    }
}
