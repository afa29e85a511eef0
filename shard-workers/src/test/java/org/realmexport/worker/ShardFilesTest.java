package org.realmexport.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.localstack.EmbeddedStack;

import java.nio.file.Files;
import java.nio.file.Path;
import org.realmexport.common.storage.local.LocalExportStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The files of the worker's two task kinds, written straight from the writers (no Kafka) against
 * {@link ZulipFixture}, whose content the expectations are derived from independently of the
 * exporter's SQL.
 */
class ShardFilesTest {
    static final int MESSAGES = 2500;
    static EmbeddedStack stack;
    static String admin;
    static Database db;

    @TempDir
    Path out;

    @BeforeAll
    static void start() throws Exception {
        stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start();
        admin = stack.jdbcUrl(); // role zulip owns schema zulip, as on a Zulip server
        ZulipFixture.createSchema(admin);
        ZulipFixture.seed(admin, MESSAGES);
        db = new Database(stack.jdbcUrl(), null, null, 2, "test");
    }

    @AfterAll
    static void stop() throws Exception {
        db.close();
        stack.close();
    }

    /** Shard k of realm 2: ids 10*g for g in [1000(k-1)+1, min(1000k, n)]. */
    static ExportTask shard(int k, Path dir) {
        long firstG = 1000L * (k - 1) + 1;
        long lastG = Math.min(1000L * k, MESSAGES);
        return new ExportTask(Versioned.CURRENT, "e1", ExportTask.Kind.MESSAGES, ZulipFixture.REALM, "full",
                dir.toUri(), 10L * MESSAGES + 9, k, 10 * firstG, 10 * lastG, (int) (lastG - firstG + 1), 4);
    }

    MessageShardWriter.Outcome writeShard(ExportTask task) throws Exception {
        try (Connection c = db.connection()) {
            RealmScope scope = RealmScope.resolve(c, db.catalog(), task.realmId(), ExportType.FULL, "zulipinternal");
            return new MessageShardWriter(db.catalog()).write(c, scope, task, new LocalExportStore(Path.of(task.output())), () -> false);
        }
    }

    RealmConfigWriter.Outcome writeConfig(Path dir) throws Exception {
        return writeConfig(dir, null);
    }

    RealmConfigWriter.Outcome writeConfig(Path dir, Path migrationStatus) throws Exception {
        ExportTask task = new ExportTask(Versioned.CURRENT, "e1", ExportTask.Kind.REALM_CONFIG, ZulipFixture.REALM,
                "full", dir.toUri(), 10L * MESSAGES + 9, 0, 0, 0, 0, 4);
        try (Connection c = db.connection()) {
            RealmScope scope = RealmScope.resolve(c, db.catalog(), task.realmId(), ExportType.FULL, "zulipinternal");
            return new RealmConfigWriter(db.catalog(), "11.0", migrationStatus).write(c, scope, task, new LocalExportStore(dir), () -> false);
        }
    }

    @Test
    void aShardHoldsExactlyItsMessagesAndTheirUsermessagesRowByRow() throws Exception {
        Path dir = out.resolve("zulip-export-e1");
        ExportTask task = shard(2, dir);
        MessageShardWriter.Outcome outcome = writeShard(task);
        JsonNode file = Json.MAPPER.readTree(dir.resolve("messages-000002.json").toFile());
        assertThat(file.size()).isEqualTo(2);

        List<JsonNode> messages = list(file.get("zerver_message"));
        assertThat(messages).extracting(m -> m.get("id").asLong())
                .containsExactlyElementsOf(range(10010, 20000, 10));
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, sender_id, recipient_id, realm_id, sending_client_id, content,"
                     + " extract(epoch FROM date_sent)::bigint, subject FROM zerver_message"
                     + " WHERE id BETWEEN 10010 AND 20000 AND id % 10 = 0 ORDER BY id")) {
            for (JsonNode m : messages) {
                assertThat(rs.next()).isTrue();
                assertThat(m.get("id").asLong()).isEqualTo(rs.getLong(1));
                assertThat(m.get("sender").asLong()).isEqualTo(rs.getLong(2));
                assertThat(m.get("recipient").asLong()).isEqualTo(rs.getLong(3));
                assertThat(m.get("realm").asLong()).isEqualTo(ZulipFixture.REALM).isEqualTo(rs.getLong(4));
                assertThat(m.get("sending_client").asLong()).isEqualTo(rs.getLong(5));
                assertThat(m.get("content").asText()).isEqualTo(rs.getString(6));
                assertThat(m.get("date_sent").isFloatingPointNumber()).isTrue();
                assertThat(m.get("date_sent").asDouble()).isEqualTo(rs.getLong(7));
                assertThat(m.get("subject").asText()).isEqualTo(rs.getString(8));
                assertThat(m.has("search_tsvector")).isFalse();
            }
            assertThat(rs.next()).isFalse();
        }

        List<JsonNode> ums = list(file.get("zerver_usermessage"));
        List<String> expected = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, flags, message_id, user_profile_id FROM zerver_usermessage"
                     + " WHERE message_id BETWEEN 10010 AND 20000 AND message_id % 10 = 0"
                     + " AND user_profile_id IN (" + ZulipFixture.ALICE + ", " + ZulipFixture.BOB + ") ORDER BY id")) {
            while (rs.next()) {
                expected.add(rs.getLong(1) + "/" + rs.getLong(2) + "/" + rs.getLong(3) + "/" + rs.getLong(4));
            }
        }
        assertThat(ums).extracting(u -> u.get("id").asLong() + "/" + u.get("flags_mask").asLong() + "/"
                + u.get("message").asLong() + "/" + u.get("user_profile").asLong()).containsExactlyElementsOf(expected);
        assertThat(ums).allSatisfy(u -> assertThat(u.has("flags")).isFalse());
        assertThat(expected).hasSizeGreaterThan(1000); // bob's rows are there, the dummy's are not

        assertThat(outcome.rows()).containsEntry("zerver_message", 1000L).containsEntry("zerver_usermessage", (long) expected.size());
        assertThat(outcome.messageIds()).containsExactly(10010L, 20000L);
        assertThat(outcome.clients()).containsExactly(1L, 2L);
        assertThat(outcome.attachments()).isEmpty(); // attachments 1 and 2 are on messages of shard 1

        Map<Long, List<Long>> first = writeShard(shard(1, dir)).attachments();
        assertThat(first).isEqualTo(Map.of(1L, List.of(100L, 200L), 2L, List.of(210L)));
    }

    @Test
    void theLastShardIsShorterAndNoOtherRealmEverAppears() throws Exception {
        Path dir = out.resolve("zulip-export-e1");
        writeShard(shard(3, dir));
        String text = Files.readString(dir.resolve("messages-000003.json"));
        JsonNode file = Json.MAPPER.readTree(text);
        assertThat(file.get("zerver_message")).hasSize(500);
        assertThat(list(file.get("zerver_message"))).allSatisfy(m -> {
            assertThat(m.get("id").asLong() % 10).isZero(); // realm 3 (…1) and the cross-realm DM group (…2) never
            assertThat(m.get("realm").asLong()).isEqualTo(ZulipFixture.REALM);
        });
        assertThat(list(file.get("zerver_usermessage"))).allSatisfy(u ->
                assertThat(u.get("user_profile").asLong()).isIn(ZulipFixture.ALICE, ZulipFixture.BOB));
        assertThat(text).doesNotContain("\"user_profile\":" + ZulipFixture.CAROL, "\"sender\":" + ZulipFixture.CAROL);
    }

    @Test
    void aShardRunTwiceGivesByteIdenticalFilesAndParts() throws Exception {
        Path a = out.resolve("a/zulip-export-e1");
        Path b = out.resolve("b/zulip-export-e1");
        MessageShardWriter.Outcome first = writeShard(shard(1, a));
        MessageShardWriter.Outcome second = writeShard(shard(1, b));
        MessageShardWriter.Outcome again = writeShard(shard(1, a)); // a retry overwrites in place
        assertThat(Files.readAllBytes(a.resolve("messages-000001.json"))).isEqualTo(Files.readAllBytes(b.resolve("messages-000001.json")));
        assertThat(first.files()).isEqualTo(second.files()).isEqualTo(again.files());
        Path partA = a.resolve(TarGzPart.partName("messages-000001.json"));
        assertThat(Files.readAllBytes(partA)).isEqualTo(Files.readAllBytes(b.resolve(TarGzPart.partName("messages-000001.json"))));
        // the part is the file's bytes, compressed in the same pass
        try (var in = TarGzPart.readData(Files.newInputStream(partA), first.files().get("messages-000001.json").size())) {
            assertThat(in.readAllBytes()).isEqualTo(Files.readAllBytes(a.resolve("messages-000001.json")));
        }
        try (var files = Files.list(a)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("messages-000001.json", ".parts");
        }
    }

    @Test
    void messagesDeletedOrEditedAfterPlanningAreWrittenAsTheyAreWhenTheShardRuns() throws Exception {
        // as Zulip deletes a message: its usermessages and attachment links go with it
        String deleted = "200, 210, 20020";
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE saved_m AS SELECT * FROM zerver_message WHERE id IN (" + deleted + ");"
                    + "CREATE TABLE saved_um AS SELECT * FROM zerver_usermessage WHERE message_id IN (" + deleted + ");"
                    + "CREATE TABLE saved_am AS SELECT * FROM zerver_attachment_messages WHERE message_id IN (" + deleted + ");"
                    + "CREATE TABLE saved_content AS SELECT id, content FROM zerver_message WHERE id = 100;"
                    + "DELETE FROM zerver_attachment_messages WHERE message_id IN (" + deleted + ");"
                    + "DELETE FROM zerver_usermessage WHERE message_id IN (" + deleted + ");"
                    + "DELETE FROM zerver_message WHERE id IN (" + deleted + ");"
                    + "UPDATE zerver_message SET content = 'edited after planning' WHERE id = 100");
        }
        try {
            Path dir = out.resolve("zulip-export-e1");
            MessageShardWriter.Outcome first = writeShard(shard(1, dir));
            JsonNode file = Json.MAPPER.readTree(dir.resolve("messages-000001.json").toFile());
            List<JsonNode> messages = list(file.get("zerver_message"));
            assertThat(messages).hasSize(998).noneMatch(m -> List.of(200L, 210L).contains(m.get("id").asLong()));
            assertThat(messages).filteredOn(m -> m.get("id").asLong() == 100).singleElement()
                    .satisfies(m -> assertThat(m.get("content").asText()).isEqualTo("edited after planning"));
            assertThat(list(file.get("zerver_usermessage"))).noneMatch(u -> List.of(200L, 210L).contains(u.get("message").asLong()));
            assertThat(first.rows()).containsEntry("zerver_message", 998L)
                    .containsEntry("zerver_usermessage", (long) file.get("zerver_usermessage").size());
            assertThat(first.attachments()).isEqualTo(Map.of(1L, List.of(100L))); // attachment 2's only message is gone

            MessageShardWriter.Outcome third = writeShard(shard(3, dir));
            assertThat(third.rows()).containsEntry("zerver_message", 499L);
            assertThat(Json.MAPPER.readTree(dir.resolve("messages-000003.json").toFile()).get("zerver_message"))
                    .hasSize(499).noneMatch(m -> m.get("id").asLong() == 20020);
        } finally {
            try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
                s.execute("INSERT INTO zerver_message SELECT * FROM saved_m;"
                        + "INSERT INTO zerver_usermessage SELECT * FROM saved_um;"
                        + "INSERT INTO zerver_attachment_messages SELECT * FROM saved_am;"
                        + "UPDATE zerver_message m SET content = c.content FROM saved_content c WHERE m.id = c.id;"
                        + "DROP TABLE saved_m, saved_um, saved_am, saved_content");
            }
        }
    }

    @Test
    void aShardWhoseMessagesWereAllDeletedIsAnEmptyFileReportingNoIds() throws Exception {
        String shard3 = "id BETWEEN 20010 AND 25000";
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE saved_m AS SELECT * FROM zerver_message WHERE " + shard3 + ";"
                    + "CREATE TABLE saved_um AS SELECT * FROM zerver_usermessage WHERE message_" + shard3 + ";"
                    + "DELETE FROM zerver_usermessage WHERE message_" + shard3 + ";"
                    + "DELETE FROM zerver_message WHERE " + shard3);
        }
        try {
            Path dir = out.resolve("zulip-export-e1");
            MessageShardWriter.Outcome outcome = writeShard(shard(3, dir));
            JsonNode file = Json.MAPPER.readTree(dir.resolve("messages-000003.json").toFile());
            assertThat(file.get("zerver_message")).isEmpty();
            assertThat(file.get("zerver_usermessage")).isEmpty();
            assertThat(outcome.rows()).containsEntry("zerver_message", 0L);
            assertThat(outcome.messageIds()).isEmpty();
        } finally {
            try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
                s.execute("INSERT INTO zerver_message SELECT * FROM saved_m;"
                        + "INSERT INTO zerver_usermessage SELECT * FROM saved_um;"
                        + "DROP TABLE saved_m, saved_um");
            }
        }
    }

    @Test
    void realmJsonHasWhatTheImporterRequiresAndOnlyThisRealm() throws Exception {
        Path dir = out.resolve("zulip-export-e1");
        RealmConfigWriter.Outcome outcome = writeConfig(dir);
        String text = Files.readString(dir.resolve("realm.json"));
        assertThat(text).doesNotContain("SECRET", "api_key", "\"password\"");
        JsonNode realm = Json.MAPPER.readTree(text);
        // the realm.json tables Zulip's format lists, less zerver_reaction and zerver_client, which the assembler adds
        assertThat(fieldNames(realm)).contains("import_source", "zerver_userprofile", "zerver_userprofile_mirrordummy",
                "zerver_userprofile_crossrealm", "zerver_stream", "zerver_huddle", "zerver_realm",
                "zerver_realmauthenticationmethod", "zerver_defaultstream", "zerver_realmemoji", "zerver_realmdomain",
                "zerver_realmfilter", "zerver_realmplayground", "zerver_recipient", "zerver_subscription",
                "zerver_userpresence", "zerver_useractivity", "zerver_useractivityinterval", "zerver_customprofilefield",
                "zerver_customprofilefieldvalue", "zerver_usergroup", "zerver_usergroupmembership",
                "zerver_groupgroupmembership").doesNotContain("zerver_reaction", "zerver_client", "zerver_message",
                "zerver_preregistrationuser", "zerver_pushdevicetoken", "zerver_draft", "zerver_multiuseinvite");
        assertThat(realm.get("import_source").asText()).isEqualTo("zulip");
        assertThat(ids(realm, "zerver_realm")).containsExactly(ZulipFixture.REALM);
        assertThat(realm.get("zerver_realm").get(0).get("date_created").isFloatingPointNumber()).isTrue();
        assertThat(ids(realm, "zerver_userprofile")).containsExactly(ZulipFixture.ALICE, ZulipFixture.BOB);
        assertThat(ids(realm, "zerver_userprofile_mirrordummy")).containsExactly(ZulipFixture.DUMMY);
        JsonNode alice = realm.get("zerver_userprofile").get(0);
        assertThat(alice.get("realm").asLong()).isEqualTo(ZulipFixture.REALM);
        assertThat(list(realm.get("zerver_userprofile_mirrordummy"))).allSatisfy(u -> assertThat(u.has("uuid")).isFalse());
        assertThat(alice.has("uuid")).isFalse();
        assertThat(alice.get("groups").isArray()).isTrue();
        assertThat(alice.get("user_permissions").isArray()).isTrue();
        assertThat(alice.get("date_joined").isFloatingPointNumber()).isTrue();
        assertThat(realm.get("zerver_userprofile_crossrealm").toString())
                .contains("{\"email\":\"notification-bot@zulip.com\",\"id\":101,\"recipient_id\":201}");
        assertThat(ids(realm, "zerver_stream")).containsExactly(3001L);
        assertThat(ids(realm, "zerver_huddle")).containsExactly(5001L);
        // the dummy's personal recipient too (the importer merges dummies into users); not 6002, shared with realm 3
        assertThat(ids(realm, "zerver_recipient")).containsExactly(2001L, 2002L, 2003L, 4001L, 6001L);
        assertThat(list(realm.get("zerver_subscription"))).extracting(s -> s.get("recipient").asLong())
                .containsOnly(2001L, 2002L, 2003L, 4001L, 6001L);
        assertThat(ids(realm, "zerver_scheduledmessage")).containsExactly(1L);
        assertThat(ids(realm, "zerver_usergroup")).containsExactly(ZulipFixture.REALM);
        JsonNode named = realm.get("zerver_namedusergroup").get(0); // Django multi-table inheritance
        assertThat(named.get("id").asLong()).isEqualTo(ZulipFixture.REALM);
        assertThat(named.get("usergroup_ptr").asLong()).isEqualTo(ZulipFixture.REALM);
        assertThat(named.get("realm_for_sharding").asLong()).isEqualTo(ZulipFixture.REALM);
        assertThat(named.has("realm")).isFalse();
        assertThat(realm.get("zerver_namedusergroup")).hasSize(1);
        assertThat(realm.get("zerver_usergroupmembership")).hasSize(1);
        assertThat(outcome.clients()).containsExactly(1L, 2L);
        assertThat(outcome.scheduledAttachments()).isEqualTo(Map.of(2L, List.of(1L)));
        assertThat(outcome.files()).containsOnlyKeys("realm.json", "analytics.json", "migration_status.json");
        assertThat(outcome.rows()).containsEntry("zerver_userprofile", 2L).containsEntry("zerver_huddle", 1L);

        JsonNode analytics = Json.MAPPER.readTree(dir.resolve("analytics.json").toFile());
        assertThat(fieldNames(analytics)).containsExactlyInAnyOrder("analytics_realmcount", "analytics_usercount", "analytics_streamcount");
        JsonNode migrations = Json.MAPPER.readTree(dir.resolve("migration_status.json").toFile());
        assertThat(migrations.get("zulip_version").asText()).isEqualTo("11.0");
        assertThat(migrations.get("migrations_by_app").toString()).isEqualTo("{\"analytics\":["
                + "\"[X] 0001_squashed_0021_alter_fillstate_id (21 squashed migrations)\",\"[X] 0022_later\"],"
                + "\"contenttypes\":[\"[X] 0001_initial\"],\"zerver\":[\"[X] 0001_initial\",\"[X] 0002_zulip_update\"]}");
        for (String f : List.of("realm.json", "analytics.json", "migration_status.json")) {
            assertThat(dir.resolve(TarGzPart.partName(f))).exists();
        }
    }

    @Test
    void aMigrationStatusFromTheServerReplacesTheDerivedOne() throws Exception {
        Path given = out.resolve("given.json");
        Files.writeString(given, "{\"migrations_by_app\": {\"zerver\": [\"[X] 0001_initial\", \"[ ] 0002_x\"]},"
                + " \"zulip_version\": \"11.2\"}");
        Path dir = out.resolve("zulip-export-e1");
        writeConfig(dir, given);
        assertThat(Files.readString(dir.resolve("migration_status.json")))
                .isEqualTo("{\"migrations_by_app\":{\"zerver\":[\"[X] 0001_initial\",\"[ ] 0002_x\"]},\"zulip_version\":\"11.2\"}\n");
        Files.writeString(given, "{\"zulip_version\": \"11.2\"}");
        assertThatThrownBy(() -> writeConfig(out.resolve("other"), given)).hasMessageContaining("migrations_by_app");
    }

    @Test
    void aRowPointingOutsideTheExportIsAnAnomalyNamingTableColumnAndIds() throws Exception {
        try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
            // carol, of realm 3, subscribed to realm 2's stream
            s.execute("INSERT INTO zerver_subscription (id, user_profile_id, recipient_id, active, is_user_active,"
                    + " is_muted, desktop_notifications, audible_notifications, push_notifications, email_notifications,"
                    + " wildcard_mentions_notify, pin_to_top, color)"
                    + " VALUES (99999, " + ZulipFixture.CAROL + ", 4001, true, true, false, null, null, null, null, null, false, '#fff')");
        }
        try {
            Path dir = out.resolve("zulip-export-e1");
            assertThatThrownBy(() -> writeConfig(dir)).isInstanceOf(TaskAnomaly.class)
                    .hasMessageContaining("zerver_subscription.user_profile_id")
                    .hasMessageContaining("zerver_userprofile ids [" + ZulipFixture.CAROL + "]");
            assertThat(dir.resolve("realm.json")).doesNotExist();
        } finally {
            try (Connection c = DriverManager.getConnection(admin); Statement s = c.createStatement()) {
                s.execute("DELETE FROM zerver_subscription WHERE id = 99999");
            }
        }
    }

    @Test
    void aMaterializedScopeSelectsTheSameRowsAndWritesTheSameShardFiles() throws Exception {
        try (Connection c = db.connection()) {
            RealmScope derived = RealmScope.resolve(c, db.catalog(), ZulipFixture.REALM, ExportType.FULL, "zulipinternal");
            RealmScope materialized = derived.materialized(c);
            assertThat(materialized.shardPredicate("t")).doesNotContain("zerver_subscription");
            String messages = "SELECT t.id FROM zerver_message t WHERE %s ORDER BY 1";
            assertThat(longs(c, String.format(messages, materialized.messagePredicate("t"))))
                    .hasSize(MESSAGES) // every 50th g adds messages of other realms; none is taken
                    .isEqualTo(longs(c, String.format(messages, derived.messagePredicate("t"))));
            assertThat(longs(c, "SELECT x.id FROM (" + materialized.exportedUserIds() + ") x(id) ORDER BY 1"))
                    .isEqualTo(longs(c, "SELECT x.id FROM (" + derived.exportedUserIds() + ") x(id) ORDER BY 1"))
                    .doesNotContain(1003L); // the mirror dummy
            assertThat(longs(c, materialized.crossRealmBotIds())).containsExactly(101L, 102L);
            c.rollback();
            for (int k = 1; k <= 3; k++) {
                Path dirA = out.resolve("derived");
                Path dirB = out.resolve("materialized");
                ExportTask a = shard(k, dirA);
                ExportTask b = shard(k, dirB);
                new MessageShardWriter(db.catalog()).write(c, derived, a, new LocalExportStore(dirA), () -> false);
                new MessageShardWriter(db.catalog()).write(c, materialized, b, new LocalExportStore(dirB), () -> false);
                assertThat(Files.readAllBytes(dirB.resolve(b.fileName())))
                        .isEqualTo(Files.readAllBytes(dirA.resolve(a.fileName())));
            }
            c.rollback();
        }
    }

    static List<Long> longs(Connection c, String sql) throws Exception {
        List<Long> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getLong(1));
            }
        }
        return out;
    }

    static List<JsonNode> list(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).toList();
    }

    static List<Long> ids(JsonNode root, String key) {
        return list(root.get(key)).stream().map(r -> r.get("id").asLong()).toList();
    }

    static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static List<Long> range(long from, long to, long step) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= to; i += step) {
            out.add(i);
        }
        return out;
    }
}
