package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.realmexport.cli.ExportFiles.idsOf;
import static org.realmexport.cli.ExportFiles.messageFiles;
import static org.realmexport.cli.ExportFiles.unpackedBytes;

/**
 * The single-user export (Zulip's export_single_user) through the whole pipeline on a generated
 * realm: its messages are exactly those Zulip's rule gives, computed here in plain SQL; it holds
 * no direct message between other users and no secret of the database; an unknown user ends
 * FAILED saying so; and {@code realm-export export-user --wait} runs it from the command line.
 */
class SingleUserExportTest {
    private static GeneratedStack generated;
    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Path work;
    private static PipelineDeployment deployment;
    private static long realm;
    /**
     * The user in the most direct-message groups: DMs, groups, streams and reactions to export.
     */
    private static long user;

    @BeforeAll
    static void start() throws Exception {
        generated = GeneratedStack.start("single-user-export-test", 5);
        stack = generated.stack();
        realms = generated.realms();
        work = generated.work();
        realm = realms.primary().realmId();
        user = ids("SELECT s.user_profile_id FROM zerver_subscription s JOIN zerver_recipient r ON r.id = s.recipient_id"
                + " AND r.type = 3 JOIN zerver_userprofile u ON u.id = s.user_profile_id WHERE u.realm_id = " + realm
                + " AND NOT u.is_bot GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").get(0);
        deployment = new PipelineDeployment(stack, work, "single-user", realms.avatarSalt());
    }

    @AfterAll
    static void stop() throws Exception {
        if (deployment != null) {
            deployment.close();
        }
        if (generated != null) {
            generated.close();
        }
    }

    /**
     * Zulip's export_messages_single_user: messages the user sent (in the realm), messages to the
     * user's personal and direct-message-group recipients, messages the user reacted to; of those,
     * the ones the user has a usermessage for.
     */
    private static String zulipsMessages(long u) {
        return "SELECT id FROM (SELECT id FROM zerver_message WHERE realm_id = " + realm + " AND sender_id = " + u
                + " UNION SELECT m.id FROM zerver_message m WHERE m.realm_id = " + realm + " AND m.recipient_id IN"
                + " (SELECT sub.recipient_id FROM zerver_subscription sub JOIN zerver_recipient r ON r.id = sub.recipient_id"
                + " WHERE sub.user_profile_id = " + u + " AND r.type IN (1, 3))"
                + " UNION SELECT message_id FROM zerver_reaction WHERE user_profile_id = " + u + ") mine"
                + " INTERSECT SELECT message_id FROM zerver_usermessage WHERE user_profile_id = " + u;
    }

    @Test
    void holdsExactlyTheUsersMessagesWithTheirFlagsAndNoSecret() throws Exception {
        String email = strings("SELECT delivery_email FROM zerver_userprofile WHERE id = " + user).get(0);
        // the user has what the rule is about: DMs to others, DMs and groups received, reactions on stream messages
        assertThat(ids("SELECT m.id FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                + " WHERE m.sender_id = " + user + " AND r.type = 1")).isNotEmpty();
        assertThat(ids("SELECT m.id FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                + " WHERE m.sender_id <> " + user + " AND r.type = 3 AND m.recipient_id IN (SELECT recipient_id FROM"
                + " zerver_subscription WHERE user_profile_id = " + user + ")")).isNotEmpty();

        ExportStatus end = deployment.exportUser(String.valueOf(realm), email.toUpperCase(Locale.ROOT));
        assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
        assertThat(end.userId()).isEqualTo(user);
        Path tarball = Path.of(end.tarball());
        assertThat(new ExportVerifier(work.resolve("verify")).verify(tarball).problems()).isEmpty();
        Path dir = deployment.exportDir(end);

        List<Long> expected = ids("SELECT id FROM (" + zulipsMessages(user) + ") e ORDER BY id");
        List<Long> exported = new ArrayList<>();
        List<JsonNode> rows = new ArrayList<>();
        List<Path> files = messageFiles(dir);
        for (Path file : files) {
            JsonNode json = Json.MAPPER.readTree(file.toFile());
            assertThat(json.has("zerver_usermessage")).isFalse();
            json.get("zerver_message").forEach(m -> {
                exported.add(m.get("id").asLong());
                rows.add(m);
            });
        }
        assertThat(exported).isNotEmpty().isEqualTo(expected);
        assertThat(files).hasSize((expected.size() + 999) / 1000);

        // nothing of other users' direct messages: every DM or group message is the user's own
        assertThat(ids("SELECT m.id FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                + " WHERE m.id IN (" + join(exported) + ") AND r.type IN (1, 3) AND m.sender_id <> " + user
                + " AND m.recipient_id NOT IN (SELECT recipient_id FROM zerver_subscription WHERE user_profile_id = "
                + user + ")")).isEmpty();

        // each message with the user's flags, its client's and recipient's names
        for (JsonNode m : rows.subList(0, Math.min(rows.size(), 200))) {
            long id = m.get("id").asLong();
            long flags = ids("SELECT flags FROM zerver_usermessage WHERE user_profile_id = " + user
                    + " AND message_id = " + id).get(0);
            assertThat(m.get("flags_mask").asLong()).isEqualTo(flags);
            if ((flags & 1) != 0) {
                assertThat(m.get("flags").toString()).contains("\"read\"");
            }
            assertThat(m.get("flags").toString()).doesNotContain("is_private");
            assertThat(m.get("sending_client_name").asText()).isEqualTo(strings("SELECT c.name FROM zerver_client c"
                    + " JOIN zerver_message m ON m.sending_client_id = c.id WHERE m.id = " + id).get(0));
            List<String> stream = strings("SELECT s.name FROM zerver_stream s JOIN zerver_recipient r ON r.type = 2"
                    + " AND r.type_id = s.id WHERE r.id = " + m.get("recipient").asLong());
            if (!stream.isEmpty()) {
                assertThat(m.get("recipient_name").asText()).isEqualTo(stream.get(0));
            } else {
                assertThat(m.get("recipient_name").asText()).isNotBlank();
            }
        }

        // user.json: the user alone, their subscriptions and reactions, no secret field
        JsonNode userJson = Json.MAPPER.readTree(dir.resolve("user.json").toFile());
        assertThat(userJson.get("zerver_userprofile")).hasSize(1);
        JsonNode profile = userJson.get("zerver_userprofile").get(0);
        assertThat(profile.get("id").asLong()).isEqualTo(user);
        assertThat(profile.has("api_key") || profile.has("password") || profile.has("uuid")).isFalse();
        assertThat(idsOf(userJson.get("zerver_subscription"))).isEqualTo(ids(
                "SELECT id FROM zerver_subscription WHERE user_profile_id = " + user + " ORDER BY id"));
        assertThat(idsOf(userJson.get("zerver_reaction"))).isEqualTo(ids(
                "SELECT id FROM zerver_reaction WHERE user_profile_id = " + user + " ORDER BY id"));
        assertThat(idsOf(userJson.get("zerver_realmauditlog"))).isEqualTo(ids("SELECT id FROM zerver_realmauditlog"
                + " WHERE modified_user_id = " + user + " OR acting_user_id = " + user + " ORDER BY id"));
        JsonNode manifest = Json.MAPPER.readTree(dir.resolve("manifest.json").toFile());
        assertThat(manifest.path("export_type").asText()).isEqualTo("user");
        assertThat(manifest.path("user_id").asLong()).isEqualTo(user);
        assertThat(Files.exists(dir.resolve("realm.json"))).isFalse();

        // no api_key, password or uuid value of the database in any byte of the tarball
        String bytes = unpackedBytes(tarball);
        List<String> secrets = strings("SELECT api_key FROM zerver_userprofile UNION SELECT password FROM"
                + " zerver_userprofile WHERE password IS NOT NULL UNION SELECT uuid::text FROM zerver_userprofile");
        assertThat(secrets).isNotEmpty();
        for (String secret : secrets) {
            assertThat(bytes.contains(secret)).as("the tarball holds the secret %s", secret).isFalse();
        }
    }

    @Test
    void carriesTheUsersOwnUploadsAvatarAndEmojiOnly() throws Exception {
        // a user with an uploaded avatar, custom emoji they added if any, and the most attachments
        long owner = ids("SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realm + " AND NOT u.is_bot"
                + " AND u.avatar_source = 'U' AND EXISTS (SELECT 1 FROM zerver_attachment a WHERE a.owner_id = u.id)"
                + " ORDER BY EXISTS (SELECT 1 FROM zerver_realmemoji e WHERE e.author_id = u.id) DESC,"
                + " (SELECT count(*) FROM zerver_attachment a WHERE a.owner_id = u.id) DESC, u.id LIMIT 1").get(0);

        // and the author of one custom emoji (restored after)
        long emojiId = ids("SELECT id FROM zerver_realmemoji WHERE realm_id = " + realm + " AND file_name IS NOT NULL"
                + " ORDER BY id LIMIT 1").get(0);
        String author = strings("SELECT coalesce(author_id::text, 'NULL') FROM zerver_realmemoji WHERE id = " + emojiId).get(0);
        ExportStatus end;
        try {
            update("UPDATE zerver_realmemoji SET author_id = " + owner + " WHERE id = " + emojiId);
            end = deployment.exportUser(String.valueOf(realm), String.valueOf(owner));
        } finally {
            update("UPDATE zerver_realmemoji SET author_id = " + author + " WHERE id = " + emojiId);
        }
        assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
        assertThat(new ExportVerifier(work.resolve("verify-files")).verify(Path.of(end.tarball())).problems()).isEmpty();
        Path dir = deployment.exportDir(end);

        // the user's own files: their uploads, their avatar, the emoji they added; no realm icons
        JsonNode uploads = Json.MAPPER.readTree(dir.resolve("uploads/records.json").toFile());
        List<String> uploadPaths = new ArrayList<>();
        uploads.forEach(r -> uploadPaths.add(r.get("path").asText()));
        assertThat(uploadPaths).isNotEmpty().containsExactlyInAnyOrderElementsOf(strings(
                "SELECT path_id FROM zerver_attachment WHERE owner_id = " + owner));
        for (String path : uploadPaths) {
            assertThat(dir.resolve("uploads").resolve(path)).isRegularFile();
        }
        JsonNode avatars = Json.MAPPER.readTree(dir.resolve("avatars/records.json").toFile());
        boolean uploadedAvatar = strings("SELECT avatar_source FROM zerver_userprofile WHERE id = " + owner).get(0).equals("U");
        assertThat(uploadedAvatar).isTrue();
        assertThat(avatars).isNotEmpty();
        avatars.forEach(r -> assertThat(r.get("user_profile_id").asLong()).isEqualTo(owner));
        JsonNode emoji = Json.MAPPER.readTree(dir.resolve("emoji/records.json").toFile());
        List<String> emojiFiles = new ArrayList<>();
        emoji.forEach(r -> emojiFiles.add(r.get("file_name").asText()));
        assertThat(emojiFiles).isNotEmpty();
        assertThat(new java.util.TreeSet<>(emojiFiles)).containsExactlyElementsOf(strings("SELECT DISTINCT file_name"
                + " FROM zerver_realmemoji WHERE (author_id = " + owner + " OR id = " + emojiId + ")"
                + " AND file_name IS NOT NULL ORDER BY 1"));
        assertThat(Files.exists(dir.resolve("realm_icons"))).isFalse();
    }

    @Test
    void aUserWithoutMessagesGetsUserJsonAndNoMessageFile() throws Exception {
        // the mirror dummy, its usermessages set aside for the test
        long dummy = ids("SELECT id FROM zerver_userprofile WHERE realm_id = " + realm + " AND is_mirror_dummy"
                + " ORDER BY id LIMIT 1").get(0);
        ExportStatus end;
        try {
            update("CREATE TABLE set_aside AS SELECT * FROM zerver_usermessage WHERE user_profile_id = " + dummy);
            update("DELETE FROM zerver_usermessage WHERE user_profile_id = " + dummy);
            end = deployment.exportUser(String.valueOf(realm), String.valueOf(dummy));
        } finally {
            update("INSERT INTO zerver_usermessage SELECT * FROM set_aside");
            update("DROP TABLE set_aside");
        }

        assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
        assertThat(end.messages()).isZero();
        assertThat(messageFiles(deployment.exportDir(end))).isEmpty();
        assertThat(deployment.exportDir(end).resolve("user.json")).isRegularFile();
        assertThat(new ExportVerifier(work.resolve("verify-silent")).verify(Path.of(end.tarball())).problems()).isEmpty();
    }

    @Test
    void anUnknownUserEndsFailedSayingSo() {
        ExportStatus end = deployment.exportUser(String.valueOf(realm), "nobody-here@example.invalid");

        assertThat(end.state()).isEqualTo(ExportState.FAILED);
        assertThat(end.error()).contains("unknown user 'nobody-here@example.invalid'").contains("realm");
        assertThat(end.tasksPlanned()).isZero();
    }

    @Test
    void exportUserCommandFollowsTheExportToItsTarball() throws Exception {
        Map<String, String> env = Map.of("KAFKA_BOOTSTRAP", stack.kafkaBootstrap());

        CliRun run = CliRun.run(env, "export-user", "--topic-prefix", deployment.topics.prefix(), "--realm",
                String.valueOf(realm), "--user", String.valueOf(user), "--output", deployment.output.toString(),
                "--wait", "--timeout", "240");

        assertThat(run.exitCode()).as(run.err()).isZero();
        String exportId = run.out().trim();
        assertThat(exportId).matches("[0-9a-f]{20}");
        Path tarball = deployment.output.resolve("zulip-export-" + exportId + ".tar.gz");
        assertThat(run.err()).contains("SUCCEEDED").contains(tarball.toString());
        assertThat(new ExportVerifier(work.resolve("verify-cli")).verify(tarball).ok()).isTrue();

        CliRun unknown = CliRun.run(env, "export-user", "--topic-prefix", deployment.topics.prefix(), "--realm",
                String.valueOf(realm), "--user", "no-such-user@example.invalid", "--output",
                deployment.output.toString(), "--wait", "--timeout", "240");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.err()).contains("unknown user");
    }

    // ------------------------------------------------------------------ helpers

    private static String join(List<Long> ids) {
        return ids.isEmpty() ? "NULL" : String.join(",", ids.stream().map(String::valueOf).toList());
    }

    private static List<Long> ids(String sql) throws Exception {
        List<Long> ids = new ArrayList<>();
        for (String s : strings(sql)) {
            ids.add(Long.parseLong(s));
        }
        return ids;
    }

    private static void update(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement st = c.createStatement()) {
            st.executeUpdate(sql);
        }
    }

    private static List<String> strings(String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
