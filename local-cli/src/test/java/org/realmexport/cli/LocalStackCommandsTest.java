package org.realmexport.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The full jar's command tree: the services' commands plus stack, demo and generate. */
class LocalStackCommandsTest {
    /** The sub-commands the README promises to a user of ./realm-export. */
    static final List<String> DESIGNED = List.of("demo", "stack", "producer", "shard-worker", "assembler",
            "request", "status", "generate", "verify", "export-user");

    @Test
    void helpListsEverySubCommandAndNoHint() {
        CliRun run = CliRun.run("--help");

        assertThat(run.exitCode()).isZero();
        for (String command : DESIGNED) {
            assertThat(run.out()).containsPattern("(?m)^  " + command + " +\\S");
        }
        assertThat(run.out()).doesNotContain("not in this jar");
        assertThat(RealmExportCommand.commandLine(new RealmExportCommand()).getSubcommands().keySet())
                .containsAll(DESIGNED);
    }

    @Test
    void theProviderAddsExactlyTheCommandsTheServicesJarNames() {
        List<String> names = new LocalStackCommands().subcommands().stream()
                .map(command -> new picocli.CommandLine(command).getCommandName()).toList();

        assertThat(names).containsExactlyInAnyOrderElementsOf(RealmExportCommand.FULL_JAR_COMMANDS);
    }

    @Test
    void theDemoRefusesAStorageItDoesNotKnow() {
        CliRun run = CliRun.run("demo", "--storage", "ftp");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--storage is local or s3, not 'ftp'").hasLineCount(1);
    }

    @Test
    void generateWithANegativeCountExits2WithOneLine() {
        CliRun run = CliRun.run(Map.of("JDBC_URL", "jdbc:postgresql://127.0.0.1:1/zulip"),
                "generate", "--messages", "-1");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).isEqualTo("realm-export generate: --messages must not be negative (got -1)\n");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void generateWithoutADatabaseSaysWhatIsMissing() {
        CliRun run = CliRun.run(Map.of(), "generate", "--messages", "10");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).isEqualTo("realm-export generate: no database: give --jdbc URL or set JDBC_URL\n");
    }

}
