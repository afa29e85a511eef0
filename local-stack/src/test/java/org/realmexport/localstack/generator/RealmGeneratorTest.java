package org.realmexport.localstack.generator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.realmexport.localstack.EmbeddedStack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.realmexport.localstack.generator.DatabaseSnapshot.count;

/**
 * The generator on a real PostgreSQL (the embedded stack's, without Kafka and S3), small N:
 * determinism, the invariants an exporter relies on, and that every case the exporter must handle
 * is present in the data.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealmGeneratorTest {
    private static final int MESSAGES = 3000;
    private static final long SEED = 7;

    private EmbeddedStack stack;
    private Path uploads;
    private GeneratedRealms realms;

    @BeforeAll
    void generateOnce() {
        stack = database();
        uploads = stack.uploadsDir();
        realms = new RealmGenerator(options(SEED, uploads)).generate(stack.jdbcUrl());
    }

    @AfterAll
    void stop() {
        stack.close();
    }

    /** A fresh PostgreSQL shaped like Zulip's (role, database and empty schema zulip) and uploads directory. */
    static EmbeddedStack database() {
        return EmbeddedStack.builder().kafka(false).s3(false).start();
    }

    private static GeneratorOptions options(long seed, Path uploads) {
        return GeneratorOptions.defaults().withMessages(MESSAGES).withSeed(seed).withUploadsDir(uploads).withProgressBar(false);
    }

    private Connection db() throws SQLException {
        return DriverManager.getConnection(stack.jdbcUrl());
    }

    // ------------------------------------------------------------------ determinism

    @Test
    void sameSeedGivesIdenticalTablesAndFilesAndADifferentSeedDoesNot() throws Exception {
        SortedMap<String, String> first;
        try (Connection a = db()) {
            first = DatabaseSnapshot.tableChecksums(a);
        }
        assertThat(first.get("zerver_usermessage")).doesNotStartWith("0:");
        try (EmbeddedStack again = database()) {
            GeneratedRealms second = new RealmGenerator(options(SEED, again.uploadsDir())).generate(again.jdbcUrl());
            try (Connection b = DriverManager.getConnection(again.jdbcUrl())) {
                assertThat(DatabaseSnapshot.tableChecksums(b)).isEqualTo(first);
            }
            assertThat(DatabaseSnapshot.fileTree(again.uploadsDir())).isEqualTo(DatabaseSnapshot.fileTree(uploads)).isNotEmpty();
            assertThat(second.primary()).isEqualTo(realms.primary());
            assertThat(second.secondary()).isEqualTo(realms.secondary());
        }
        try (EmbeddedStack other = database()) {
            new RealmGenerator(options(SEED + 1, other.uploadsDir())).generate(other.jdbcUrl());
            SortedMap<String, String> different;
            try (Connection c = DriverManager.getConnection(other.jdbcUrl())) {
                different = DatabaseSnapshot.tableChecksums(c);
            }
            for (String table : List.of("zerver_message", "zerver_usermessage", "zerver_userprofile", "zerver_attachment",
                    "zerver_subscription", "zerver_reaction")) {
                assertThat(different.get(table)).as(table).isNotEqualTo(first.get(table));
            }
            assertThat(DatabaseSnapshot.fileTree(other.uploadsDir())).isNotEqualTo(DatabaseSnapshot.fileTree(uploads));
        }
    }

    // ------------------------------------------------------------------ invariants

    @Test
    void usermessagesBelongToTheRealmOfTheirMessageExceptTheSystemBotsOwnDirectMessages() throws Exception {
        try (Connection c = db()) {
            long foreign = count(c, "SELECT count(*) FROM zerver_usermessage um"
                    + " JOIN zerver_message m ON m.id = um.message_id"
                    + " JOIN zerver_userprofile u ON u.id = um.user_profile_id"
                    + " WHERE u.realm_id <> m.realm_id"
                    + " AND NOT (u.realm_id = " + realms.internalRealmId() + " AND m.sender_id = u.id)");
            assertThat(foreign).isZero();
            // Zulip gives the sender of a direct message a usermessage row: a system bot's row
            // sits on a message of another realm, which an exporter must filter out.
            assertThat(count(c, "SELECT count(*) FROM zerver_usermessage um JOIN zerver_userprofile u ON u.id = um.user_profile_id"
                    + " WHERE u.realm_id = " + realms.internalRealmId())).isPositive();
            // Recipients of a realm's messages are the realm's: personal recipients of its users,
            // its streams, its direct-message groups.
            assertThat(count(c, "SELECT count(*) FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                    + " LEFT JOIN zerver_userprofile u ON r.type = 1 AND u.id = r.type_id"
                    + " LEFT JOIN zerver_stream s ON r.type = 2 AND s.id = r.type_id"
                    + " WHERE coalesce(u.realm_id, s.realm_id, m.realm_id) <> m.realm_id")).isZero();
        }
    }

    @Test
    void everyAttachmentHasItsFileWithTheRecordedSize() throws Exception {
        List<String[]> rows = new ArrayList<>();
        try (Connection c = db(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT path_id, size FROM zerver_attachment ORDER BY id")) {
            while (rs.next()) {
                rows.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        assertThat(rows).hasSize(realms.primary().attachments() + realms.secondary().attachments());
        for (String[] row : rows) {
            Path file = uploads.resolve("files").resolve(row[0]);
            assertThat(file).as(row[0]).isRegularFile();
            assertThat(Files.size(file)).as(row[0]).isEqualTo(Long.parseLong(row[1]));
            assertThat(row[0]).matches("\\d+/[0-9a-f]{1,2}/[A-Za-z0-9_-]{24}/[^/]+");
        }
        // No staging directory survives a successful run.
        try (var list = Files.list(uploads)) {
            assertThat(list.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("avatars", "files");
        }
    }

    @Test
    void avatarsEmojiAndRealmIconAreWhereZulipsLocalStorageKeepsThem() throws Exception {
        try (Connection c = db(); Statement st = c.createStatement()) {
            int avatars = 0;
            try (ResultSet rs = st.executeQuery("SELECT u.id, u.avatar_version, u.realm_id FROM zerver_userprofile u"
                    + " WHERE u.avatar_source = 'U' AND u.realm_id <> " + realms.internalRealmId())) {
                while (rs.next()) {
                    String key = rs.getInt(1) + ":" + rs.getInt(2) + ":" + realms.avatarSalt();
                    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 40);
                    Path base = uploads.resolve("avatars").resolve(String.valueOf(rs.getInt(3)));
                    for (String suffix : List.of(".png", ".original", "-medium.png")) {
                        assertThat(base.resolve(hash + suffix)).isRegularFile();
                    }
                    avatars++;
                }
            }
            assertThat(avatars).isPositive();
            try (ResultSet rs = st.executeQuery("SELECT realm_id, file_name FROM zerver_realmemoji")) {
                while (rs.next()) {
                    assertThat(uploads.resolve("avatars/" + rs.getInt(1) + "/emoji/images/" + rs.getString(2))).isRegularFile();
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT id FROM zerver_realm WHERE icon_source = 'U'")) {
                assertThat(rs.next()).isTrue();
                assertThat(uploads.resolve("avatars/" + rs.getInt(1) + "/realm/icon.png")).isRegularFile();
                assertThat(uploads.resolve("avatars/" + rs.getInt(1) + "/realm/icon.original")).isRegularFile();
            }
        }
    }

    @Test
    void everyRecipientPointsAtARowOfItsTypeAndBack() throws Exception {
        try (Connection c = db()) {
            assertThat(count(c, "SELECT count(*) FROM zerver_recipient r WHERE r.type = 1"
                    + " AND NOT EXISTS (SELECT 1 FROM zerver_userprofile u WHERE u.id = r.type_id)")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_recipient r WHERE r.type = 2"
                    + " AND NOT EXISTS (SELECT 1 FROM zerver_stream s WHERE s.id = r.type_id)")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_recipient r WHERE r.type = 3"
                    + " AND NOT EXISTS (SELECT 1 FROM zerver_huddle h WHERE h.id = r.type_id)")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_recipient WHERE type NOT IN (1, 2, 3)")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile u JOIN zerver_recipient r ON r.id = u.recipient_id"
                    + " WHERE r.type <> 1 OR r.type_id <> u.id")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_stream s JOIN zerver_recipient r ON r.id = s.recipient_id"
                    + " WHERE r.type <> 2 OR r.type_id <> s.id")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_huddle h LEFT JOIN zerver_recipient r ON r.id = h.recipient_id"
                    + " WHERE r.id IS NULL OR r.type <> 3 OR r.type_id <> h.id")).isZero();
            // all three flavours exist
            assertThat(count(c, "SELECT count(DISTINCT type) FROM zerver_recipient")).isEqualTo(3);
        }
    }

    @Test
    void everySubscriptionIsToARecipientOfTheSubscribersRealm() throws Exception {
        try (Connection c = db()) {
            assertThat(count(c, "SELECT count(*) FROM zerver_subscription sub"
                    + " JOIN zerver_userprofile u ON u.id = sub.user_profile_id"
                    + " JOIN zerver_recipient r ON r.id = sub.recipient_id"
                    + " LEFT JOIN zerver_userprofile pu ON r.type = 1 AND pu.id = r.type_id"
                    + " LEFT JOIN zerver_stream s ON r.type = 2 AND s.id = r.type_id"
                    + " WHERE coalesce(pu.realm_id, s.realm_id, u.realm_id) <> u.realm_id")).isZero();
            // a direct-message group's members all come from one realm
            assertThat(count(c, "SELECT count(*) FROM (SELECT sub.recipient_id FROM zerver_subscription sub"
                    + " JOIN zerver_recipient r ON r.id = sub.recipient_id AND r.type = 3"
                    + " JOIN zerver_userprofile u ON u.id = sub.user_profile_id"
                    + " GROUP BY sub.recipient_id HAVING count(DISTINCT u.realm_id) > 1) x")).isZero();
            assertThat(count(c, "SELECT count(DISTINCT r.type) FROM zerver_subscription sub JOIN zerver_recipient r ON r.id = sub.recipient_id"))
                    .isEqualTo(3);
        }
    }

    @Test
    void theSecondRealmIsAboutATenthAndItsMessageIdsInterleave() throws Exception {
        GeneratedRealm primary = realms.primary();
        GeneratedRealm secondary = realms.secondary();
        assertThat(primary.messages()).isEqualTo(MESSAGES);
        assertThat(secondary.messages()).isEqualTo(MESSAGES / 10);
        assertThat((double) secondary.userMessages() / primary.userMessages()).isBetween(0.03, 0.2);
        assertThat(secondary.firstMessageId()).isLessThan(primary.lastMessageId());
        assertThat(secondary.lastMessageId()).isGreaterThan(primary.firstMessageId());
        try (Connection c = db()) {
            for (GeneratedRealm r : List.of(primary, secondary)) {
                assertThat(count(c, "SELECT count(*) FROM zerver_message WHERE realm_id = " + r.realmId())).isEqualTo(r.messages());
                assertThat(count(c, "SELECT count(*) FROM zerver_usermessage um JOIN zerver_message m ON m.id = um.message_id"
                        + " WHERE m.realm_id = " + r.realmId())).isEqualTo(r.userMessages());
                assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE realm_id = " + r.realmId())).isEqualTo(r.users());
                assertThat(count(c, "SELECT count(*) FROM zerver_attachment WHERE realm_id = " + r.realmId())).isEqualTo(r.attachments());
                assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE realm_id = " + r.realmId())).isEqualTo(r.streams());
                assertThat(count(c, "SELECT count(*) FROM zerver_reaction re JOIN zerver_message m ON m.id = re.message_id"
                        + " WHERE m.realm_id = " + r.realmId())).isEqualTo(r.rows("zerver_reaction"));
                // about ten usermessages per message
                assertThat((double) r.userMessages() / r.messages()).isBetween(4.0, 16.0);
            }
            // the whole run's counts are the database's
            for (var e : realms.tableRowCounts().entrySet()) {
                assertThat(count(c, "SELECT count(*) FROM " + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
            }
            // secondary ids fall between primary ids: more than one switch between realms along the id order
            long switches = count(c, "SELECT count(*) FROM (SELECT realm_id, lag(realm_id) OVER (ORDER BY id) prev"
                    + " FROM zerver_message) x WHERE realm_id <> prev");
            assertThat(switches).isGreaterThan(100);
        }
    }

    @Test
    void theDataCoversEveryCaseAnExportMustHandle() throws Exception {
        int primaryId = realms.primary().realmId();
        String inPrimary = " AND realm_id = " + primaryId;
        try (Connection c = db()) {
            assertThat(count(c, "SELECT count(*) FROM zerver_realm WHERE string_id = 'zulipinternal'")).isEqualTo(1);
            for (String bot : List.of("welcome-bot@zulip.com", "notification-bot@zulip.com", "emailgateway@zulip.com")) {
                assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE email = '" + bot + "' AND realm_id = "
                        + realms.internalRealmId())).as(bot).isEqualTo(1);
            }
            // users
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE allow_private_data_export AND NOT is_bot" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE NOT allow_private_data_export AND NOT is_bot AND NOT is_mirror_dummy" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE email_address_visibility = 4 AND email <> delivery_email" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE is_mirror_dummy AND NOT is_active" + inPrimary)).isEqualTo(1);
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile b JOIN zerver_userprofile o ON o.id = b.bot_owner_id"
                    + " WHERE b.is_bot AND o.allow_private_data_export AND b.realm_id = " + primaryId)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_service s JOIN zerver_userprofile b ON b.id = s.user_profile_id"
                    + " WHERE b.bot_type = 3 AND b.realm_id = " + primaryId)).isEqualTo(1);
            assertThat(count(c, "SELECT count(*) FROM zerver_userprofile WHERE role = 600" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(DISTINCT api_key) FROM zerver_userprofile")).isEqualTo(count(c, "SELECT count(*) FROM zerver_userprofile"));
            // streams
            assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE NOT invite_only" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE invite_only AND history_public_to_subscribers" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE invite_only AND NOT history_public_to_subscribers" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE is_web_public" + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_stream WHERE deactivated" + inPrimary)).isPositive();
            // protected history: someone joined the protected stream late and has no rows for its earlier messages
            assertThat(count(c, "SELECT count(*) FROM zerver_realmauditlog l JOIN zerver_stream s ON s.id = l.modified_stream_id"
                    + " WHERE l.event_type = 301 AND l.event_last_message_id IS NOT NULL AND NOT s.history_public_to_subscribers")).isPositive();
            // messages of all kinds, from other realms' bots too
            assertThat(count(c, "SELECT count(*) FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                    + " WHERE r.type = 1" + " AND m.realm_id = " + primaryId)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_message m JOIN zerver_recipient r ON r.id = m.recipient_id"
                    + " WHERE r.type = 3" + " AND m.realm_id = " + primaryId)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_message m JOIN zerver_userprofile u ON u.id = m.sender_id"
                    + " WHERE u.realm_id <> m.realm_id AND m.realm_id = " + primaryId)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_message WHERE last_edit_time IS NOT NULL AND edit_history IS NOT NULL"
                    + inPrimary)).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_message WHERE search_tsvector IS NULL")).isZero();
            assertThat(count(c, "SELECT count(DISTINCT sending_client_id) FROM zerver_message")).isGreaterThanOrEqualTo(4);
            // flags: read, starred, mentioned, wildcard, is_private, mobile push all occur
            for (long bit : new long[] {1, 2, 8, 16, 2048, 4096}) {
                assertThat(count(c, "SELECT count(*) FROM zerver_usermessage WHERE flags & " + bit + " <> 0")).as("flag " + bit).isPositive();
            }
            assertThat(count(c, "SELECT count(*) FROM zerver_usermessage WHERE flags & 1 = 0")).as("unread").isPositive();
            // direct messages carry is_private for every recipient, stream messages never
            assertThat(count(c, "SELECT count(*) FROM zerver_usermessage um JOIN zerver_message m ON m.id = um.message_id"
                    + " WHERE (um.flags & 2048 <> 0) = m.is_channel_message")).isZero();
            // attachments: used by one message, by several, only by direct messages, by none, by scheduled messages
            assertThat(count(c, "SELECT count(*) FROM (SELECT attachment_id FROM zerver_attachment_messages GROUP BY 1 HAVING count(*) > 1) x")).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_attachment a WHERE NOT EXISTS (SELECT 1 FROM zerver_attachment_messages am WHERE am.attachment_id = a.id)"
                    + " AND NOT EXISTS (SELECT 1 FROM zerver_attachment_scheduled_messages s WHERE s.attachment_id = a.id)")).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_attachment a WHERE EXISTS (SELECT 1 FROM zerver_attachment_messages am WHERE am.attachment_id = a.id)"
                    + " AND NOT EXISTS (SELECT 1 FROM zerver_attachment_messages am JOIN zerver_message m ON m.id = am.message_id"
                    + " WHERE am.attachment_id = a.id AND m.is_channel_message)")).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_attachment_scheduled_messages")).isPositive();
            assertThat(count(c, "SELECT count(*) FROM zerver_attachment a JOIN zerver_attachment_messages am ON am.attachment_id = a.id"
                    + " JOIN zerver_message m ON m.id = am.message_id WHERE m.realm_id <> a.realm_id")).isZero();
            assertThat(count(c, "SELECT count(*) FROM zerver_message m WHERE has_attachment <> EXISTS"
                    + " (SELECT 1 FROM zerver_attachment_messages am WHERE am.message_id = m.id)")).isZero();
            // the rest of the realm's tables have rows
            for (String table : List.of("zerver_reaction", "zerver_scheduledmessage", "zerver_realmauditlog", "zerver_userpresence",
                    "zerver_useractivity", "zerver_useractivityinterval", "zerver_userstatus", "zerver_usertopic", "zerver_alertword",
                    "zerver_customprofilefieldvalue", "zerver_realmemoji", "zerver_realmdomain", "zerver_realmfilter",
                    "zerver_realmplayground", "zerver_realmuserdefault", "zerver_realmauthenticationmethod", "zerver_defaultstream",
                    "zerver_usergroup", "zerver_namedusergroup", "zerver_usergroupmembership", "zerver_groupgroupmembership",
                    "zerver_realmexport", "analytics_realmcount", "analytics_usercount", "analytics_streamcount",
                    "zerver_userprofile_groups", "zerver_userprofile_user_permissions",
                    "zerver_preregistrationuser", "zerver_pushdevicetoken", "zerver_draft", "zerver_multiuseinvite")) {
                assertThat(realms.primary().rows(table)).as(table).isPositive();
            }
            // an anonymous group (a setting's value): a usergroup without a name
            assertThat(count(c, "SELECT count(*) FROM zerver_usergroup g WHERE NOT EXISTS"
                    + " (SELECT 1 FROM zerver_namedusergroup n WHERE n.usergroup_ptr_id = g.id)")).isPositive();
            assertThat(count(c, "SELECT count(*) FROM django_migrations")).isEqualTo(828);
            assertThat(count(c, "SELECT count(DISTINCT app) FROM django_migrations")).isGreaterThanOrEqualTo(5);
        }
    }

    @Test
    void theSchemaHasZulipsTypesForeignKeysAndExportIndexes() throws Exception {
        try (Connection c = db()) {
            assertThat(DatabaseSnapshot.text(c, "SELECT data_type FROM information_schema.columns"
                    + " WHERE table_name = 'zerver_usermessage' AND column_name = 'flags'")).isEqualTo("bigint");
            assertThat(DatabaseSnapshot.text(c, "SELECT data_type FROM information_schema.columns"
                    + " WHERE table_name = 'zerver_message' AND column_name = 'search_tsvector'")).isEqualTo("tsvector");
            assertThat(DatabaseSnapshot.text(c, "SELECT data_type FROM information_schema.columns"
                    + " WHERE table_name = 'zerver_message' AND column_name = 'date_sent'")).isEqualTo("timestamp with time zone");
            assertThat(DatabaseSnapshot.text(c, "SELECT data_type FROM information_schema.columns"
                    + " WHERE table_name = 'zerver_realmauditlog' AND column_name = 'extra_data'")).isEqualTo("jsonb");
            assertThat(count(c, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()"
                    + " AND table_name = 'zerver_realm'")).isGreaterThanOrEqualTo(85);
            assertThat(count(c, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()"
                    + " AND table_name = 'zerver_userprofile' AND column_name IN ('api_key', 'password', 'uuid', 'recipient_id')")).isEqualTo(4);
            // the foreign keys through which an exporter learns Django's field names
            String fk = "SELECT count(*) FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid"
                    + " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
                    + " WHERE k.contype = 'f' AND k.convalidated AND t.relname = '%s' AND a.attname = '%s' AND f.relname = '%s'";
            assertThat(count(c, String.format(fk, "zerver_message", "sender_id", "zerver_userprofile"))).isEqualTo(1);
            assertThat(count(c, String.format(fk, "zerver_message", "recipient_id", "zerver_recipient"))).isEqualTo(1);
            assertThat(count(c, String.format(fk, "zerver_usermessage", "message_id", "zerver_message"))).isEqualTo(1);
            assertThat(count(c, String.format(fk, "zerver_attachment_messages", "message_id", "zerver_message"))).isEqualTo(1);
            assertThat(count(c, String.format(fk, "zerver_userprofile", "bot_owner_id", "zerver_userprofile"))).isEqualTo(1);
            assertThat(count(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"))
                    .isGreaterThan(100);
            // indexes export queries use
            assertThat(indexDefinitions(c, "zerver_usermessage")).anyMatch(d -> d.contains("(message_id)"))
                    .anyMatch(d -> d.contains("UNIQUE") && d.contains("(user_profile_id, message_id)"));
            assertThat(indexDefinitions(c, "zerver_message")).anyMatch(d -> d.contains("(realm_id, id DESC"))
                    .anyMatch(d -> d.contains("(recipient_id)"));
            // sequences continue after the generated ids
            assertThat(count(c, "SELECT last_value FROM " + DatabaseSnapshot.text(c, "SELECT pg_get_serial_sequence('zerver_message', 'id')")))
                    .isEqualTo(count(c, "SELECT max(id) FROM zerver_message"));
        }
    }

    private static List<String> indexDefinitions(Connection c, String table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT indexdef FROM pg_indexes WHERE tablename = '" + table + "'")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void aSecondRunAddsRealmsNextToTheFirstReusingTheSystemRealmAndClients() throws Exception {
        try (EmbeddedStack shared = database()) {
            GeneratedRealms first = new RealmGenerator(GeneratorOptions.defaults().withMessages(500)
                    .withUploadsDir(shared.uploadsDir()).withProgressBar(false)).generate(shared.jdbcUrl());
            GeneratedRealms second = new RealmGenerator(GeneratorOptions.defaults().withMessages(400).withSeed(99)
                    .withRealmStringIds("acme", "globex").withUploadsDir(shared.uploadsDir()).withProgressBar(false))
                    .generate(shared.jdbcUrl());
            assertThat(second.internalRealmId()).isEqualTo(first.internalRealmId());
            assertThat(second.primary().firstMessageId())
                    .isGreaterThan(Math.max(first.primary().lastMessageId(), first.secondary().lastMessageId()));
            try (Connection c = DriverManager.getConnection(shared.jdbcUrl())) {
                assertThat(count(c, "SELECT count(*) FROM zerver_realm")).isEqualTo(5);
                assertThat(count(c, "SELECT count(*) FROM zerver_client")).isEqualTo(GeneratorRun.CLIENT_NAMES.length);
                assertThat(count(c, "SELECT count(*) FROM django_migrations")).isEqualTo(828);
                assertThat(count(c, "SELECT count(*) FROM zerver_message WHERE realm_id = " + second.primary().realmId())).isEqualTo(400);
                assertThat(count(c, "SELECT count(*) FROM zerver_attachment")).isEqualTo(
                        first.primary().attachments() + first.secondary().attachments()
                                + second.primary().attachments() + second.secondary().attachments());
                assertThat(count(c, "SELECT count(*) FROM zerver_attachment WHERE realm_id = " + second.secondary().realmId()))
                        .isEqualTo(second.secondary().attachments());
            }
            // every attachment of both runs has its file
            try (Connection c = DriverManager.getConnection(shared.jdbcUrl()); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT path_id, size FROM zerver_attachment")) {
                while (rs.next()) {
                    assertThat(Files.size(shared.uploadsDir().resolve("files").resolve(rs.getString(1)))).isEqualTo(rs.getLong(2));
                }
            }
        }
    }

    @Test
    void theSmallestRealmsStillHaveEveryCaseAndValidForeignKeys() throws Exception {
        try (EmbeddedStack tiny = database()) {
            GeneratedRealms small = new RealmGenerator(GeneratorOptions.defaults().withMessages(1).withUsers(GeneratorOptions.MIN_USERS)
                    .withStreams(GeneratorOptions.MIN_STREAMS).withUploadsDir(tiny.uploadsDir()).withProgressBar(false))
                    .generate(tiny.jdbcUrl());
            assertThat(small.primary().messages()).isEqualTo(1);
            assertThat(small.secondary().messages()).isEqualTo(1);
            assertThat(small.primary().humans()).isEqualTo(GeneratorOptions.MIN_USERS);
            assertThat(small.primary().streams()).isEqualTo(GeneratorOptions.MIN_STREAMS);
            try (Connection c = DriverManager.getConnection(tiny.jdbcUrl())) {
                assertThat(count(c, "SELECT count(*) FROM zerver_message")).isEqualTo(2);
                // every foreign key was created and validated against the loaded rows
                assertThat(count(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")).isZero();
                long declared = ZulipSchema.postLoadStatements().stream().filter(st -> st.contains("FOREIGN KEY")).count();
                assertThat(count(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"))
                        .isEqualTo(declared).isGreaterThan(100);
            }
        }
    }
}
