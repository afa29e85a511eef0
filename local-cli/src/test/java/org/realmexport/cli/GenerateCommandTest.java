package org.realmexport.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.localstack.EmbeddedStack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** generate against a real (embedded) PostgreSQL. */
class GenerateCommandTest {
    static EmbeddedStack stack;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void generatesARealmWhoseSummaryMatchesTheDatabaseAndRefusesTheSameStringIdTwice() throws Exception {
        Path uploads = Files.createDirectories(tmp.resolve("uploads"));
        CliRun run = CliRun.run(Map.of("JDBC_URL", stack.jdbcUrl()), "generate", "--messages", "300",
                "--users", "6", "--streams", "6", "--seed", "7", "--uploads-dir", uploads.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        Matcher realm = Pattern.compile("(?m)^realm 'zulip' +id (\\d+): (\\d+) messages").matcher(run.out());
        assertThat(realm.find()).as(run.out()).isTrue();
        assertThat(run.out()).containsPattern("(?m)^realm 'lear' +id \\d+: ")
                .contains("AVATAR_SALT=")
                .containsPattern("(?m)^  zerver_message +\\d+$");
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM zerver_message WHERE realm_id = ?")) {
            ps.setLong(1, Long.parseLong(realm.group(1)));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(Long.parseLong(realm.group(2))).isGreaterThanOrEqualTo(300);
            }
        }
        try (Stream<Path> files = Files.walk(uploads)) {
            assertThat(files.filter(Files::isRegularFile).count()).isPositive();
        }

        CliRun again = CliRun.run(Map.of("JDBC_URL", stack.jdbcUrl()), "generate", "--messages", "300");
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).startsWith("realm-export generate: ").contains("zulip").hasLineCount(1);
    }

    @Test
    void anUnreachableDatabaseIsOneLineAndExit2() {
        CliRun run = CliRun.run(Map.of(), "generate", "--jdbc", "jdbc:postgresql://127.0.0.1:1/zulip?user=zulip",
                "--messages", "10");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("realm-export generate: cannot connect to PostgreSQL").hasLineCount(1);
    }

    @Test
    void theGeneratorsOwnLimitsAreUsageErrors() {
        CliRun run = CliRun.run(Map.of("JDBC_URL", stack.jdbcUrl()), "generate", "--messages", "10", "--users", "2");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("realm-export generate: ").contains("users").hasLineCount(1);
    }
}
