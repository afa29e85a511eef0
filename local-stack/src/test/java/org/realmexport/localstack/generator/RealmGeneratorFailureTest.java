package org.realmexport.localstack.generator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.localstack.EmbeddedStack;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.realmexport.localstack.generator.DatabaseSnapshot.count;

/** Bad input gives one clear GeneratorException and leaves no partial realm, in the database or on disk. */
class RealmGeneratorFailureTest {
    @TempDir
    Path temp;

    private static GeneratorOptions small(Path uploads) {
        return GeneratorOptions.defaults().withMessages(400).withUploadsDir(uploads).withProgressBar(false);
    }

    @Test
    void anUnreachableDatabaseIsOneClearLine() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Path uploads = temp.resolve("unreachable");
        String url = "jdbc:postgresql://127.0.0.1:" + closedPort + "/zulip?user=zulip&password=hunter2&connectTimeout=2";
        assertThatThrownBy(() -> new RealmGenerator(small(uploads)).generate(url))
                .isInstanceOf(GeneratorException.class)
                .hasMessageStartingWith("cannot connect to PostgreSQL at jdbc:postgresql://127.0.0.1:" + closedPort)
                .hasMessageNotContaining("hunter2")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(uploads).doesNotExist();
    }

    @Test
    void zeroOrNegativeCountsAreRefusedBeforeAnythingHappens() {
        GeneratorOptions defaults = GeneratorOptions.defaults();
        assertThatThrownBy(() -> defaults.withMessages(0)).isInstanceOf(GeneratorException.class)
                .hasMessage("messages must be between 1 and 100000000, got 0");
        assertThatThrownBy(() -> defaults.withMessages(-5)).isInstanceOf(GeneratorException.class).hasMessageContaining("got -5");
        assertThatThrownBy(() -> defaults.withUsers(0)).isInstanceOf(GeneratorException.class).hasMessageContaining("users");
        assertThatThrownBy(() -> defaults.withStreams(-1)).isInstanceOf(GeneratorException.class).hasMessageContaining("streams");
        assertThatThrownBy(() -> defaults.withRealmStringIds("same", "same")).isInstanceOf(GeneratorException.class);
        assertThatThrownBy(() -> defaults.withRealmStringIds("zulipinternal", "lear")).isInstanceOf(GeneratorException.class);
    }

    @Test
    void aRealmThatAlreadyExistsIsRefusedAndNothingChanges() throws Exception {
        try (EmbeddedStack stack = RealmGeneratorTest.database()) {
            Path uploads = stack.uploadsDir();
            new RealmGenerator(small(uploads)).generate(stack.jdbcUrl());
            SortedMap<String, String> before;
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl())) {
                before = DatabaseSnapshot.tableChecksums(c);
            }
            SortedMap<String, String> filesBefore = DatabaseSnapshot.fileTree(uploads);

            assertThatThrownBy(() -> new RealmGenerator(small(uploads).withSeed(5)).generate(stack.jdbcUrl()))
                    .isInstanceOf(GeneratorException.class)
                    .hasMessageContaining("already has a realm 'zulip'");
            // the second realm clashing alone is caught as well
            assertThatThrownBy(() -> new RealmGenerator(small(uploads).withRealmStringIds("fresh", "lear")).generate(stack.jdbcUrl()))
                    .isInstanceOf(GeneratorException.class)
                    .hasMessageContaining("'lear'");

            try (Connection c = DriverManager.getConnection(stack.jdbcUrl())) {
                assertThat(DatabaseSnapshot.tableChecksums(c)).isEqualTo(before);
            }
            assertThat(DatabaseSnapshot.fileTree(uploads)).isEqualTo(filesBefore);
            assertThat(DatabaseSnapshot.paths(uploads).keySet()).noneMatch(p -> p.startsWith(".realm-generator"));
        }
    }

    @Test
    void aFailureDuringTheLoadRollsEverythingBack() throws Exception {
        try (EmbeddedStack stack = RealmGeneratorTest.database()) {
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement st = c.createStatement()) {
                ZulipSchema.create(c);
                // A column the generator does not know, NOT NULL without default: the usermessage
                // COPY fails after realms, users, streams and messages were already written.
                st.execute("ALTER TABLE zerver_usermessage ADD COLUMN not_ours integer NOT NULL");
            }
            Path uploads = temp.resolve("failing-load");
            assertThatThrownBy(() -> new RealmGenerator(small(uploads)).generate(stack.jdbcUrl()))
                    .isInstanceOf(GeneratorException.class)
                    .hasMessageStartingWith("generating the realms failed, nothing was written:")
                    .hasMessageContaining("not_ours")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl())) {
                for (String table : ZulipSchema.tableNames()) {
                    assertThat(count(c, "SELECT count(*) FROM " + table)).as(table).isZero();
                }
            }
            assertThat(DatabaseSnapshot.paths(uploads)).isEmpty();
        }
    }

    @Test
    void aFailureWhileMovingFilesIntoPlaceRemovesTheMovedFilesAndTheFreshSchema() throws Exception {
        try (EmbeddedStack stack = RealmGeneratorTest.database()) {
            Path uploads = temp.resolve("blocked");
            Files.createDirectories(uploads);
            // A plain file where the avatars directory must go: attachments (files/...) are moved
            // into place first, then moving avatars fails.
            Files.writeString(uploads.resolve("avatars"), "in the way");

            assertThatThrownBy(() -> new RealmGenerator(small(uploads)).generate(stack.jdbcUrl()))
                    .isInstanceOf(GeneratorException.class)
                    .hasMessageStartingWith("writing the upload files failed, nothing was written:");
            assertThat(DatabaseSnapshot.paths(uploads).keySet()).containsExactly("avatars");
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl())) {
                assertThat(ZulipSchema.exists(c)).isFalse();
            }
        }
    }
}
