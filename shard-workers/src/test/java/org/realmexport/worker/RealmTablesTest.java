package org.realmexport.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.ZulipTables;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealm;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.localstack.generator.ZulipSchema;

import java.nio.file.Path;
import org.realmexport.common.storage.local.LocalExportStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every table of realm.json holds exactly the realm's rows, each table checked against a plain
 * SQL statement of Zulip's rule for it (export.py's Config tree, written out here independently
 * of {@link RealmScope}), on a generated realm in a current Zulip's layout; {@link RealmTablesZulip11Test}
 * repeats it on Zulip 11.0's layout.
 */
class RealmTablesTest {
    /** The tables of realm.json whose rows are the realm's by {@code realm_id}. */
    private static final Set<String> BY_REALM = Set.of("zerver_realmauthenticationmethod", "zerver_presencesequence",
            "zerver_scheduledmessage", "zerver_defaultstream", "zerver_customprofilefield", "zerver_realmauditlog",
            "zerver_realmemoji", "zerver_realmdomain", "zerver_realmexport", "zerver_realmfilter",
            "zerver_realmplayground", "zerver_realmuserdefault", "zerver_onboardingusermessage", "zerver_usergroup",
            "zerver_stream", "zerver_channelfolder");
    /** Per-user tables: their user column; every user of the realm (dummies too) counts. */
    private static final Map<String, String> BY_USER = new LinkedHashMap<>();

    static {
        for (String t : new String[] {"zerver_service", "zerver_alertword", "zerver_customprofilefieldvalue",
                "zerver_muteduser", "zerver_savedsnippet", "zerver_useractivity", "zerver_useractivityinterval",
                "zerver_userpresence", "zerver_userstatus", "zerver_usertopic"}) {
            BY_USER.put(t, "user_profile_id");
        }
        BY_USER.put("zerver_botstoragedata", "bot_profile_id");
        BY_USER.put("zerver_botconfigdata", "bot_profile_id");
        BY_USER.put("zerver_navigationview", "user_id");
        BY_USER.put("zerver_onboardingstep", "user_id");
        BY_USER.put("zerver_externalauthid", "user_id");
    }

    /** The tables item 2 of the issue names, which a current Zulip exports: they must have rows. */
    private static final Set<String> NEW_TABLES = Set.of("zerver_presencesequence", "zerver_onboardingusermessage",
            "zerver_savedsnippet", "zerver_navigationview", "zerver_externalauthid", "zerver_channelfolder");

    static EmbeddedStack stack;
    static GeneratedRealms realms;
    static Database db;

    @TempDir
    Path out;

    @BeforeAll
    static void start() throws Exception {
        start(false);
    }

    static void start(boolean zulip11) throws Exception {
        stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(2000)).generate(stack.jdbcUrl());
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement s = c.createStatement()) {
            if (zulip11) {
                ZulipSchema.toZulip11Layout(c);
            } else {
                // as a PGroonga installation adds it by raw SQL: no field of Zulip's Message model
                s.execute("ALTER TABLE zerver_message ADD COLUMN search_pgroonga text;"
                        + " UPDATE zerver_message SET search_pgroonga = subject");
            }
        }
        db = new Database(stack.jdbcUrl(), null, null, 2, "test");
    }

    @AfterAll
    static void stop() {
        db.close();
        stack.close();
    }

    @Test
    void theFixtureHasEveryTableOfZulipsSchemaAndEachIsClassified() throws Exception {
        assertThat(ZulipTables.unknown(db.catalog().tableNames())).isEmpty();
        assertThat(db.catalog().tableNames()).containsAll(ZulipTables.all().keySet());
    }

    @Test
    void theRowRulesCoverExactlyTheTablesClassifiedForRealmJson() {
        Set<String> covered = new TreeSet<>(RealmConfigWriter.partTables());
        covered.addAll(RealmConfigWriter.WRITTEN_ELSEWHERE);
        covered.retainAll(ZulipTables.tables(ZulipTables.Destination.REALM_JSON));
        assertThat(covered).isEqualTo(ZulipTables.tables(ZulipTables.Destination.REALM_JSON));
        assertThat(ZulipTables.tables(ZulipTables.Destination.REALM_JSON)).containsAll(RealmConfigWriter.partTables());
    }

    @Test
    void everyRealmJsonTableHoldsExactlyTheRealmsRows() throws Exception {
        for (GeneratedRealm realm : new GeneratedRealm[] {realms.primary(), realms.secondary()}) {
            Path dir = out.resolve(realm.stringId().isEmpty() ? "root" : realm.stringId());
            JsonNode json = writeConfig(realm, dir);
            Map<String, String> expected = expectedRows(realm.realmId());
            try (Connection c = db.connection()) {
                for (Map.Entry<String, String> e : expected.entrySet()) {
                    String key = e.getKey();
                    assertThat(json.has(key)).as(key).isTrue();
                    Set<Long> exported = new TreeSet<>();
                    json.get(key).forEach(row -> exported.add(row.get("id").asLong()));
                    assertThat(exported).as("%s of realm %s", key, realm.realmId())
                            .hasSize(json.get(key).size())
                            .isEqualTo(ids(c, e.getValue()));
                    if (NEW_TABLES.contains(key)) {
                        assertThat(exported).as("%s has rows in the generated realm", key).isNotEmpty();
                    }
                }
                c.rollback();
            }
            json.get("zerver_onboardingusermessage").forEach(row ->
                    assertThat(row.has("flags_mask") && !row.has("flags")).as("flags written as flags_mask").isTrue());
            assertThat(json.get("zerver_stream").get(0).has("is_in_zephyr_realm")).isEqualTo(zulip11Layout());
        }
    }

    @Test
    void theCrossRealmBotsAreZulipsThreeUnderTheirDefaultEmails() throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl())) {
            c.setAutoCommit(false);
            // a server whose INTERNAL_BOT_DOMAIN is not zulip.com
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE zerver_userprofile SET email = replace(email, '@zulip.com', '@bots.example.org')"
                        + " WHERE realm_id = (SELECT id FROM zerver_realm WHERE string_id = 'zulipinternal')");
            }
            JsonNode crossRealm = writeConfig(c, realms.primary(), out).get("zerver_userprofile_crossrealm");
            String bots = "SELECT u.id, r.id FROM zerver_userprofile u JOIN zerver_recipient r ON r.type = 1"
                    + " AND r.type_id = u.id WHERE u.email = '%s@bots.example.org'";
            Map<Long, String> expected = new java.util.TreeMap<>(); // sorted by id, as every list of realm.json
            for (String bot : new String[] {"notification-bot", "emailgateway", "welcome-bot"}) {
                try (PreparedStatement ps = c.prepareStatement(bots.formatted(bot)); ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as(bot).isTrue();
                    expected.put(rs.getLong(1), "{\"email\":\"" + bot + "@zulip.com\",\"id\":" + rs.getLong(1)
                            + ",\"recipient_id\":" + rs.getLong(2) + "}");
                }
            }
            assertThat(crossRealm.toString()).isEqualTo("[" + String.join(",", expected.values()) + "]");
            c.rollback();
        }
    }

    @Test
    void aColumnThatIsNoFieldOfZulipsModelsIsNotExported() throws Exception {
        if (zulip11Layout()) {
            return; // the column is added to the current layout only
        }
        GeneratedRealm realm = realms.primary();
        try (Connection c = db.connection()) {
            assertThat(db.catalog().hasColumn("zerver_message", "search_pgroonga")).isTrue();
            RealmScope scope = RealmScope.resolve(c, db.catalog(), realm.realmId(), ExportType.FULL, "zulipinternal");
            long first = ids(c, "SELECT min(m.id) FROM zerver_message m WHERE " + scope.messagePredicate("m")).iterator().next();
            ExportTask task = new ExportTask(Versioned.CURRENT, "p", ExportTask.Kind.MESSAGES, realm.realmId(), "full",
                    out.toUri(), Long.MAX_VALUE, 1, first, first, 1, 2);
            new MessageShardWriter(db.catalog()).write(c, scope, task, new LocalExportStore(out), () -> false);
            c.rollback();
        }
        JsonNode message = Json.MAPPER.readTree(out.resolve(task(1)).toFile()).get("zerver_message").get(0);
        assertThat(message.has("subject")).isTrue();
        assertThat(message.has("search_pgroonga")).isFalse();
    }

    boolean zulip11Layout() {
        return false;
    }

    private static String task(int shard) {
        return ExportTask.messagesFileStem(shard) + ".json";
    }

    private static JsonNode writeConfig(GeneratedRealm realm, Path dir) throws Exception {
        try (Connection c = db.connection()) {
            JsonNode json = writeConfig(c, realm, dir);
            c.rollback();
            return json;
        }
    }

    private static JsonNode writeConfig(Connection c, GeneratedRealm realm, Path dir) throws Exception {
        RealmScope scope = RealmScope.resolve(c, db.catalog(), realm.realmId(), ExportType.FULL, "zulipinternal");
        ExportTask config = new ExportTask(Versioned.CURRENT, "r", ExportTask.Kind.REALM_CONFIG, realm.realmId(),
                "full", dir.toUri(), Long.MAX_VALUE, 0, 0, 0, 0, 1);
        new RealmConfigWriter(db.catalog(), "12.0").write(c, scope, config, new LocalExportStore(dir), () -> false);
        return Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
    }

    /** realm.json key to the SQL of the ids Zulip's export writes for realm {@code r}. */
    private static Map<String, String> expectedRows(long r) {
        String users = "SELECT id FROM zerver_userprofile WHERE realm_id = " + r;
        String groups = "SELECT id FROM zerver_usergroup WHERE realm_id = " + r;
        String streamRecipients = "SELECT id FROM zerver_recipient WHERE type = 2 AND type_id IN"
                + " (SELECT id FROM zerver_stream WHERE realm_id = " + r + ")";
        String personalRecipients = "SELECT s.recipient_id FROM zerver_subscription s JOIN zerver_recipient p"
                + " ON p.id = s.recipient_id WHERE p.type = 1 AND s.user_profile_id IN (" + users + ")";
        // direct-message groups with a member in the realm and none outside it
        String groupRecipients = "SELECT g.id FROM zerver_recipient g WHERE g.type = 3"
                + " AND EXISTS (SELECT 1 FROM zerver_subscription s WHERE s.recipient_id = g.id AND s.user_profile_id IN (" + users + "))"
                + " AND NOT EXISTS (SELECT 1 FROM zerver_subscription s JOIN zerver_userprofile u ON u.id = s.user_profile_id"
                + " WHERE s.recipient_id = g.id AND u.realm_id <> " + r + ")";
        Map<String, String> sql = new LinkedHashMap<>();
        sql.put("zerver_realm", "SELECT id FROM zerver_realm WHERE id = " + r);
        for (String t : BY_REALM) {
            sql.put(t, "SELECT id FROM " + t + " WHERE realm_id = " + r);
        }
        sql.put("zerver_namedusergroup", "SELECT usergroup_ptr_id FROM zerver_namedusergroup WHERE realm_id = " + r);
        sql.put("zerver_usergroupmembership", "SELECT id FROM zerver_usergroupmembership WHERE user_group_id IN (" + groups + ")");
        sql.put("zerver_groupgroupmembership", "SELECT id FROM zerver_groupgroupmembership WHERE supergroup_id IN (" + groups + ")");
        sql.put("zerver_userprofile", users + " AND NOT is_mirror_dummy");
        sql.put("zerver_userprofile_mirrordummy", users + " AND is_mirror_dummy");
        BY_USER.forEach((t, column) -> sql.put(t, "SELECT id FROM " + t + " WHERE " + column + " IN (" + users + ")"));
        sql.put("zerver_recipient", "SELECT id FROM zerver_recipient WHERE id IN (" + streamRecipients + ") OR id IN ("
                + personalRecipients + ") OR id IN (" + groupRecipients + ")");
        sql.put("zerver_subscription", "SELECT s.id FROM zerver_subscription s JOIN zerver_recipient p ON p.id = s.recipient_id"
                + " WHERE (p.type = 1 AND s.user_profile_id IN (" + users + ")) OR s.recipient_id IN (" + streamRecipients
                + ") OR s.recipient_id IN (" + groupRecipients + ")");
        sql.put("zerver_huddle", "SELECT type_id FROM zerver_recipient WHERE id IN (" + groupRecipients + ")");
        return sql;
    }

    private static Set<Long> ids(Connection c, String sql) throws Exception {
        Set<Long> ids = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }
}
