package org.realmexport.cli;

import org.realmexport.common.config.RealmExportConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        header = "Writes a synthetic Zulip realm into a PostgreSQL database.",
        description = "Writes a deterministic synthetic realm (plus a small second realm and the system bots' "
                + "realm) into a PostgreSQL database, creating the zulip schema when missing, and prints a "
                + "summary.")
class GenerateCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--messages", required = true, paramLabel = "N", description = "Messages of the main realm.")
    long messages;

    @Option(names = "--users", paramLabel = "N", description = "Users of the main realm (default: the generator's).")
    Integer users;

    @Option(names = "--streams", paramLabel = "N", description = "Streams of the main realm (default: the generator's).")
    Integer streams;

    @Option(names = "--seed", paramLabel = "K", description = "Random seed: the same seed gives the same realm (default: the generator's).")
    Long seed;

    @Override
    public Integer call() {
        requireNotNegative("--messages", messages);
        requireNotNegative("--users", users);
        requireNotNegative("--streams", streams);
        Map<String, Object> settings = Settings.resolve(root.environment(), null, database);
        Object jdbcUrl = settings.get(RealmExportConfig.JDBC_URL);
        if (jdbcUrl == null) {
            throw new UsageException("no database: give --jdbc URL or set JDBC_URL");
        }
        // TODO(cli): call RealmGenerator once org.realmexport.localstack.generator is in main
        throw UsageException.notBuiltYet("generate", "org.realmexport.localstack.generator.RealmGenerator");
    }

    private static void requireNotNegative(String option, Number value) {
        if (value != null && value.longValue() < 0) {
            throw new UsageException(option + " must not be negative (got " + value + ")");
        }
    }
}
