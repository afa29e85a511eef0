package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.common.ExportId;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.realmexport.cli.ExportFiles.idsOf;
import static org.realmexport.cli.ExportFiles.messageFiles;
import static org.realmexport.cli.ExportFiles.unpackedBytes;

/**
 * The export types through the whole pipeline on a generated realm pair (consenting and
 * non-consenting users, hidden emails, private and protected-history streams, direct messages
 * and groups): for each type the exported message, usermessage and attachment ids equal the sets
 * computed here by plain SQL written from the rules of Zulip's export.py (independently of the
 * exporter's own scope), no export carries a secret of the database or of the deployment, and a
 * user whose email is hidden appears only under the placeholder address.
 */
class ExportTypesTest {
    /** UserProfile.EMAIL_ADDRESS_VISIBILITY_NOBODY. */
    private static final int NOBODY = 4;

    private static GeneratedStack generated;
    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Path work;
    private static PipelineDeployment deployment;
    private static long realm;

    @BeforeAll
    static void start() throws Exception {
        generated = GeneratedStack.start("export-types-test", 11);
        stack = generated.stack();
        realms = generated.realms();
        work = generated.work();
        realm = realms.primary().realmId();
        deployment = new PipelineDeployment(stack, work, "types", realms.avatarSalt());
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

    // ------------------------------------------------------------------ Zulip's rules, in plain SQL

    private static String realmUsers() {
        return "SELECT id FROM zerver_userprofile WHERE realm_id = " + realm;
    }

    /** Users and the three cross-realm bots export.py names: its ids_of_our_possible_senders. */
    private static String possibleSenders() {
        return realmUsers() + " UNION SELECT id FROM zerver_userprofile WHERE is_bot AND realm_id ="
                + " (SELECT id FROM zerver_realm WHERE string_id = 'zulipinternal') AND split_part(email, '@', 1)"
                + " IN ('notification-bot', 'emailgateway', 'welcome-bot')";
    }

    /** export.py get_consented_user_ids, verbatim. */
    private static String consenting() {
        return "WITH consenting_humans AS (SELECT id FROM zerver_userprofile WHERE allow_private_data_export"
                + " AND NOT is_bot AND realm_id = " + realm + ") SELECT id FROM zerver_userprofile WHERE"
                + " (id IN (SELECT id FROM consenting_humans))"
                + " OR (allow_private_data_export AND is_bot AND realm_id = " + realm + ")"
                + " OR (bot_owner_id IN (SELECT id FROM consenting_humans) AND is_bot AND realm_id = " + realm + ")"
                + " OR (is_mirror_dummy AND realm_id = " + realm + ")";
    }

    private static String streamRecipients(String streamCondition) {
        return "SELECT r.id FROM zerver_recipient r JOIN zerver_stream s ON s.id = r.type_id AND r.type = 2"
                + " WHERE s.realm_id = " + realm + streamCondition;
    }

    /** Groups with a member in the realm and none outside it; with a member in {@code members} when given. */
    private static String groupRecipients(String members) {
        return "SELECT DISTINCT sub.recipient_id FROM zerver_subscription sub JOIN zerver_recipient r"
                + " ON r.id = sub.recipient_id AND r.type = 3 WHERE sub.user_profile_id IN (" + realmUsers() + ")"
                + (members == null ? "" : " AND sub.recipient_id IN (SELECT recipient_id FROM zerver_subscription"
                + " WHERE user_profile_id IN (" + members + "))")
                + " AND NOT EXISTS (SELECT 1 FROM zerver_subscription o JOIN zerver_userprofile ou ON ou.id ="
                + " o.user_profile_id WHERE o.recipient_id = sub.recipient_id AND ou.realm_id <> " + realm + ")";
    }

    private static String personalRecipients(String users) {
        return "SELECT id FROM zerver_recipient WHERE type = 1 AND type_id IN (" + users + ")";
    }

    /** zerver_recipient as export.py builds it: personal, stream and (type-filtered) group recipients. */
    private static String exportedRecipients(String groupMembers, boolean groups) {
        return personalRecipients(realmUsers()) + " UNION " + streamRecipients("")
                + (groups ? " UNION " + groupRecipients(groupMembers) : "");
    }

    private static String expectedMessages(ExportType type) {
        String base = "SELECT id FROM zerver_message WHERE realm_id = " + realm + " AND sender_id IN ("
                + possibleSenders() + ")";
        return switch (type) {
            case PUBLIC -> base + " AND recipient_id IN (" + streamRecipients(" AND NOT s.invite_only") + ")";
            case FULL -> base + " AND recipient_id IN (" + exportedRecipients(null, true) + ")"
                    + " UNION SELECT id FROM zerver_message WHERE realm_id = " + realm + " AND sender_id IN ("
                    + realmUsers() + " AND NOT is_mirror_dummy) AND recipient_id IN (" + personalRecipients(
                    "SELECT id FROM (" + possibleSenders() + ") p EXCEPT (" + realmUsers() + " AND NOT is_mirror_dummy)") + ")";
            case FULL_WITH_CONSENT -> {
                String consentedSubs = "SELECT recipient_id FROM zerver_subscription WHERE user_profile_id IN ("
                        + consenting() + ")";
                String protectedHistory = streamRecipients(" AND NOT s.history_public_to_subscribers");
                yield base + " AND recipient_id IN (" + exportedRecipients(consenting(), true) + ")"
                        + " AND (recipient_id IN (" + streamRecipients(" AND NOT s.invite_only") + ")"
                        + " OR (recipient_id IN (" + consentedSubs + ") AND recipient_id NOT IN (" + protectedHistory + ")))"
                        + " UNION " + base + " AND recipient_id IN (" + consentedSubs + ") AND recipient_id IN ("
                        + protectedHistory + ") AND EXISTS (SELECT 1 FROM zerver_usermessage um WHERE um.message_id ="
                        + " zerver_message.id AND um.user_profile_id IN (" + consenting() + "))"
                        + " UNION SELECT id FROM zerver_message WHERE realm_id = " + realm + " AND sender_id IN ("
                        + consenting() + ") AND recipient_id IN (" + personalRecipients(
                        "SELECT id FROM (" + possibleSenders() + ") p EXCEPT (" + consenting() + ")") + ")";
            }
        };
    }

    /** The users whose usermessages a type exports: those that stay real users (and consented). */
    private static String usermessageUsers(ExportType type) {
        return switch (type) {
            case FULL -> realmUsers() + " AND NOT is_mirror_dummy";
            case PUBLIC -> realmUsers() + " AND NOT is_mirror_dummy AND email_address_visibility <> " + NOBODY;
            case FULL_WITH_CONSENT -> realmUsers() + " AND NOT is_mirror_dummy AND id IN (" + consenting() + ")";
        };
    }

    private static String expectedScheduledMessages(ExportType type) {
        return switch (type) {
            case FULL -> "SELECT id FROM zerver_scheduledmessage WHERE realm_id = " + realm;
            case PUBLIC -> "SELECT id FROM zerver_scheduledmessage WHERE false";
            case FULL_WITH_CONSENT -> "SELECT id FROM zerver_scheduledmessage WHERE realm_id = " + realm
                    + " AND sender_id IN (" + consenting() + ")";
        };
    }

    // ------------------------------------------------------------------ the tests

    @Test
    void publicExportHoldsExactlyZulipsRowsAndNoSecret() throws Exception {
        checkType(ExportType.PUBLIC);
    }

    @Test
    void consentExportHoldsExactlyZulipsRowsAndNoSecret() throws Exception {
        checkType(ExportType.FULL_WITH_CONSENT);
    }

    @Test
    void fullExportHoldsExactlyZulipsRowsAndNoSecret() throws Exception {
        checkType(ExportType.FULL);
    }

    private void checkType(ExportType type) throws Exception {
        // the generated realm has what the rules are about
        assertThat(ids("SELECT id FROM zerver_stream WHERE realm_id = " + realm + " AND invite_only")).isNotEmpty();
        assertThat(ids("SELECT id FROM zerver_stream WHERE realm_id = " + realm
                + " AND NOT history_public_to_subscribers")).isNotEmpty();
        assertThat(ids(realmUsers() + " AND NOT allow_private_data_export AND NOT is_bot")).isNotEmpty();

        ExportStatus end = deployment.export(String.valueOf(realm), type);
        assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
        Path tarball = Path.of(end.tarball());
        assertThat(new ExportVerifier(work.resolve("v-" + type.cliName())).verify(tarball).problems()).isEmpty();
        Path dir = deployment.exportDir(end);

        List<Long> messages = new ArrayList<>();
        List<Long> userMessages = new ArrayList<>();
        for (Path file : messageFiles(dir)) {
            JsonNode json = Json.MAPPER.readTree(file.toFile());
            json.get("zerver_message").forEach(m -> messages.add(m.get("id").asLong()));
            json.get("zerver_usermessage").forEach(um -> userMessages.add(um.get("id").asLong()));
        }
        List<Long> expectedMessages = ids("SELECT id FROM (" + expectedMessages(type) + ") e ORDER BY id");
        assertThat(messages).isNotEmpty().isEqualTo(expectedMessages);
        assertThat(new TreeSet<>(userMessages)).containsExactlyElementsOf(ids("SELECT um.id FROM zerver_usermessage um"
                + " WHERE um.message_id IN (" + expectedMessages(type) + ") AND um.user_profile_id IN ("
                + usermessageUsers(type) + ") ORDER BY um.id"));
        JsonNode attachments = Json.MAPPER.readTree(dir.resolve("attachment.json").toFile()).get("zerver_attachment");
        assertThat(idsOf(attachments)).isEqualTo(ids("SELECT DISTINCT a.id FROM zerver_attachment a WHERE a.realm_id = "
                + realm + " AND (a.id IN (SELECT attachment_id FROM zerver_attachment_messages WHERE message_id IN ("
                + expectedMessages(type) + ")) OR a.id IN (SELECT attachment_id FROM zerver_attachment_scheduled_messages"
                + " WHERE scheduledmessage_id IN (" + expectedScheduledMessages(type) + "))) ORDER BY a.id"));
        JsonNode realmJson = Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
        assertThat(idsOf(realmJson.get("zerver_scheduledmessage")))
                .isEqualTo(ids("SELECT id FROM (" + expectedScheduledMessages(type) + ") s ORDER BY id"));
        JsonNode manifest = Json.MAPPER.readTree(dir.resolve("manifest.json").toFile());
        assertThat(manifest.path("export_type").asText()).isEqualTo(type.cliName());

        // no secret of the database nor of the deployment, anywhere in the tarball's bytes
        String bytes = unpackedBytes(tarball);
        List<String> secrets = strings("SELECT api_key FROM zerver_userprofile UNION SELECT password FROM"
                + " zerver_userprofile WHERE password IS NOT NULL UNION SELECT uuid::text FROM zerver_userprofile");
        secrets.add(stack.s3SecretKey());
        secrets.add(realms.avatarSalt());
        for (String secret : secrets) {
            assertThat(bytes.contains(secret)).as("the tarball holds the secret %s", secret).isFalse();
        }

        // a non-consenting user whose email is visible to nobody: only under the placeholder
        List<Long> hidden = ids(realmUsers() + " AND email_address_visibility = " + NOBODY
                + " AND NOT is_bot AND NOT allow_private_data_export ORDER BY id");
        assertThat(hidden).isNotEmpty();
        for (long user : hidden) {
            String delivery = string("SELECT delivery_email FROM zerver_userprofile WHERE id = " + user);
            JsonNode row = userRow(realmJson, user);
            if (type == ExportType.FULL) {
                assertThat(row.get("delivery_email").asText()).isEqualTo(delivery);
                continue;
            }
            assertThat(bytes.contains(delivery)).as("the tarball holds the hidden email %s", delivery).isFalse();
            // Zulip's fake email domain: that of the user's (already fake) email
            String domain = string("SELECT split_part(email, '@', 2) FROM zerver_userprofile WHERE id = " + user);
            assertThat(row.get("delivery_email").asText()).matches("exported-user-[0-9a-f]{32}@" + domain.replace(".", "\\."));
            assertThat(row.get("is_active").asBoolean()).isFalse();
            assertThat(realmJson.get("zerver_userprofile_mirrordummy").findValues("id").stream()
                    .map(JsonNode::asLong).toList()).contains(user);
        }
    }

    @Test
    void anExportWithoutAUsableOwnerEndsFailedWithTheReason() throws Exception {
        String owners = "SELECT id FROM zerver_userprofile WHERE realm_id = " + realm + " AND role = 100";
        List<Long> ownerIds = ids(owners);
        Map<Long, Long> visibility = new HashMap<>();
        for (long id : ownerIds) {
            visibility.put(id, ids("SELECT email_address_visibility FROM zerver_userprofile WHERE id = " + id).get(0));
        }
        List<Long> consented = ids(owners + " AND allow_private_data_export");
        try {
            update("UPDATE zerver_userprofile SET email_address_visibility = " + NOBODY + ", allow_private_data_export"
                    + " = false WHERE id IN (" + owners + ")");
            ExportStatus pub = deployment.export(String.valueOf(realm), ExportType.PUBLIC);
            assertThat(pub.state()).isEqualTo(ExportState.FAILED);
            assertThat(pub.error()).contains("public").contains("no owner").contains("email");
            ExportStatus consent = deployment.export(String.valueOf(realm), ExportType.FULL_WITH_CONSENT);
            assertThat(consent.state()).isEqualTo(ExportState.FAILED);
            assertThat(consent.error()).contains("full-with-consent").contains("no owner").contains("private data");
        } finally {
            for (long id : ownerIds) {
                update("UPDATE zerver_userprofile SET email_address_visibility = " + visibility.get(id)
                        + ", allow_private_data_export = " + consented.contains(id) + " WHERE id = " + id);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static JsonNode userRow(JsonNode realmJson, long id) {
        for (String key : List.of("zerver_userprofile", "zerver_userprofile_mirrordummy")) {
            for (JsonNode row : realmJson.get(key)) {
                if (row.get("id").asLong() == id) {
                    return row;
                }
            }
        }
        throw new AssertionError("user " + id + " is not in realm.json");
    }

    private static List<Long> ids(String sql) throws Exception {
        List<Long> ids = new ArrayList<>();
        for (String s : strings(sql)) {
            ids.add(Long.parseLong(s));
        }
        return ids;
    }

    private static String string(String sql) throws Exception {
        List<String> all = strings(sql);
        assertThat(all).hasSize(1);
        return all.get(0);
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

    private static void update(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement st = c.createStatement()) {
            st.executeUpdate(sql);
        }
    }
}
