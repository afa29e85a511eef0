package org.realmexport.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.realmexport.common.config.RealmExportConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RealmExportCommandTest {
    /** The sub-commands of the services' jar (the full jar adds RealmExportCommand.FULL_JAR_COMMANDS). */
    static final List<String> SERVICES = List.of("producer", "shard-worker", "assembler", "request", "status",
            "verify", "export-user");

    @TempDir
    Path tmp;

    @Test
    void helpListsEveryServicesCommandAndSaysWhereTheOthersAre() {
        CliRun run = CliRun.run("--help");

        assertThat(run.exitCode()).isZero();
        for (String command : SERVICES) {
            assertThat(run.out()).containsPattern("(?m)^  " + command + " +\\S");
        }
        for (String command : RealmExportCommand.FULL_JAR_COMMANDS) {
            assertThat(run.out()).doesNotContainPattern("(?m)^  " + command + " +\\S");
        }
        assertThat(run.out()).contains("stack, demo, generate are not in this jar").contains("./realm-export");
        assertThat(RealmExportCommand.commandLine(new RealmExportCommand()).getSubcommands().keySet())
                .containsAll(SERVICES).doesNotContainAnyElementsOf(RealmExportCommand.FULL_JAR_COMMANDS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "stack --env-file .env", "generate --messages 10"})
    void aFullJarCommandSaysWhereItIs(String args) {
        CliRun run = CliRun.run(args.split(" "));

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("realm-export: '" + args.split(" ")[0] + "' is not in this jar: ")
                .contains("./realm-export").hasLineCount(1);
    }

    @Test
    void exportUserNeedsTheUsersRealm() {
        CliRun run = CliRun.run("export-user", "--user", "iago@zulip.com");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--realm");
    }

    @ParameterizedTest
    @ValueSource(strings = {"no-such-command", "verify", "verify --no-such-option x", "request --type full",
            "request --realm zulip", "status --interval=x", "producer --set novalue"})
    void usageErrorsExit2(String args) {
        CliRun run = CliRun.run(args.split(" "));

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).isNotBlank();
    }

    @Test
    void noSubCommandIsAUsageError() {
        CliRun run = CliRun.run();

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("Missing sub-command").contains("Usage: realm-export");
    }

    @Test
    void anUnknownExportTypeIsAUsageErrorBeforeAnyConnection() {
        CliRun run = CliRun.run(Map.of("KAFKA_BOOTSTRAP", "127.0.0.1:1"), "request", "--realm", "zulip", "--type", "private");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("realm-export request: unknown export type 'private'").hasLineCount(1);
    }

    @Test
    void anOptionBeatsTheEnvironment() {
        Map<String, String> env = Map.of("KAFKA_BOOTSTRAP", "env-host:9092", "JDBC_URL", "jdbc:postgresql://env/zulip",
                "S3_SECRET_KEY", "from-env");
        ProducerCommand producer = CliRun.parse(env, "producer", "--bootstrap-servers", "option-host:9092");

        Map<String, Object> settings = producer.settings();

        assertThat(settings).containsEntry(RealmExportConfig.BOOTSTRAP_SERVERS, "option-host:9092")
                .containsEntry(RealmExportConfig.JDBC_URL, "jdbc:postgresql://env/zulip")
                .containsEntry(RealmExportConfig.S3_SECRET_KEY, "from-env");
    }

    @Test
    void precedenceIsEnvironmentThenConfigFileThenSetThenOptions() throws Exception {
        Path file = tmp.resolve("export.properties");
        Files.writeString(file, String.join("\n",
                "bootstrap.servers=file-host:9092",
                "jdbc.url=jdbc:postgresql://file/zulip",
                "topic.prefix=from-file",
                "kafka.security.protocol=SSL", ""));
        Map<String, String> env = Map.of("KAFKA_BOOTSTRAP", "env-host:9092", "JDBC_URL", "jdbc:postgresql://env/zulip",
                "TOPIC_PREFIX", "from-env", "UPLOADS_DIR", "/env/uploads");
        ShardWorkerCommand worker = CliRun.parse(env, "shard-worker", "--config", file.toString(),
                "--set", "topic.prefix=from-set", "--set", "jdbc.url=jdbc:postgresql://set/zulip",
                "--jdbc-url", "jdbc:postgresql://option/zulip", "--worker-id", "w7", "--zulip-version", "10.4");

        Map<String, Object> settings = worker.settings();

        assertThat(settings)
                .containsEntry(RealmExportConfig.UPLOADS_DIR, "/env/uploads")           // only the environment has it
                .containsEntry(RealmExportConfig.BOOTSTRAP_SERVERS, "file-host:9092")  // file beats environment
                .containsEntry(RealmExportConfig.TOPIC_PREFIX, "from-set")             // --set beats file
                .containsEntry(RealmExportConfig.JDBC_URL, "jdbc:postgresql://option/zulip") // option beats --set
                .containsEntry("kafka.security.protocol", "SSL")
                .containsEntry(org.realmexport.worker.ShardWorkerConfig.WORKER_ID, "w7")
                .containsEntry(org.realmexport.worker.ShardWorkerConfig.ZULIP_VERSION, "10.4");
        RealmExportConfig config = new RealmExportConfig(RealmExportConfig.baseConfigDef(), settings);
        assertThat(config.kafkaProperties()).containsEntry("security.protocol", "SSL")
                .containsEntry("bootstrap.servers", "file-host:9092");
    }

    @Test
    void aMissingConfigFileIsAUsageError() {
        CliRun run = CliRun.run("producer", "--config", tmp.resolve("nope.properties").toString());

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("config file").contains("does not exist").hasLineCount(1);
    }

    @Test
    void anInvalidConfigValueIsAUsageError() {
        CliRun run = CliRun.run("assembler", "--set", "task.partitions=many");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("task.partitions").hasLineCount(1);
    }

    @Test
    void verifyOfAnEmptyDirectoryListsProblemsAndExits1() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("zulip-export-empty"));
        CliRun run = CliRun.run("verify", empty.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.out()).contains("realm.json: missing (required by Zulip's importer)\n")
                .containsPattern("(?m)^\\d+ problem\\(s\\) in zulip-export-empty: ");
    }

    @Test
    void verifyOfAMissingPathIsAUsageError() {
        CliRun run = CliRun.run("verify", tmp.resolve("nope.tar.gz").toString());

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).endsWith("nope.tar.gz: no such file or directory\n");
    }
}
