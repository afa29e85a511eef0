package org.realmexport.worker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, fully known Zulip database for the worker tests, in the fixture schema
 * ({@code zulip-schema.sql} of local-stack): three realms, and message patterns that exercise every
 * rule of the export scope. Rows are inserted with explicit ids; NOT NULL columns the scenario
 * does not care about get a neutral value (foreign keys the realm's "everyone" group etc.).
 *
 * <ul>
 *   <li>realm 1 {@code zulipinternal}: system bots 101 notification-bot, 102 welcome-bot (recipients 201, 202)</li>
 *   <li>realm 2 {@code ""} (root domain, the one exported): alice 1001, bob 1002, mirror dummy 1003
 *       (personal recipients 2001-2003), stream 3001 (recipient 4001), DM group 5001 alice+bob
 *       (recipient 6001), DM group 5002 alice+carol of realm 3 (recipient 6002: not exportable)</li>
 *   <li>realm 3 {@code other}: carol 1101 (recipient 2101), stream 3101 (recipient 4101)</li>
 * </ul>
 * Message {@code g} (1..n) of realm 2 has id {@code 10*g}; its pattern is {@code g % 10}: 0-5 alice to
 * the stream, 6 bob to the DM group, 7 alice to bob, 8 notification-bot to alice, 9 alice to
 * notification-bot. Every g also has message {@code 10*g+1} of carol in realm 3, and every 50th
 * g a message {@code 10*g+2} of alice to DM group 5002 (never exported).
 */
final class ZulipFixture {
    static final long INTERNAL = 1, REALM = 2, OTHER = 3;
    static final long ALICE = 1001, BOB = 1002, DUMMY = 1003, CAROL = 1101, NOTIFICATION_BOT = 101;

    private final Connection c;
    private final Map<String, List<String[]>> columns = new HashMap<>();
    private final Map<String, Object> fkDefaults = new HashMap<>();

    private ZulipFixture(Connection c) {
        this.c = c;
    }

    /** Creates the fixture's tables in schema {@code zulip} (which must exist) of the database at {@code url}. */
    static void createSchema(String url) throws SQLException, IOException {
        String ddl;
        try (InputStream in = ZulipFixture.class.getResourceAsStream("/org/realmexport/localstack/zulip-schema.sql")) {
            ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("SET search_path = zulip;\n" + ddl);
        }
    }

    /** Seeds the scenario with {@code n} exportable messages in realm 2. */
    static void seed(String adminUrl, int n) throws SQLException {
        try (Connection c = DriverManager.getConnection(adminUrl)) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("SET search_path = zulip");
            }
            new ZulipFixture(c).scenario(n);
            c.commit();
            try (Statement s = c.createStatement()) {
                s.execute("ANALYZE"); // as a live server has statistics; a bulk load has none yet
            }
            c.commit();
        }
    }

    private void scenario(int n) throws SQLException {
        insert("zerver_client", "id", 1, "name", "website");
        insert("zerver_client", "id", 2, "name", "ZulipMobile");
        for (long realm : new long[] {INTERNAL, REALM, OTHER}) {
            fkDefaults.put("zerver_usergroup", realm);
            insert("zerver_usergroup", "id", realm, "realm_id", realm);
            insert("zerver_realm", "id", realm, "string_id", realm == INTERNAL ? "zulipinternal" : realm == REALM ? "" : "other",
                    "name", "realm " + realm);
            insert("zerver_namedusergroup", "usergroup_ptr_id", realm, "realm_id", realm, "name", "role:everyone",
                    "is_system_group", true);
        }
        fkDefaults.remove("zerver_usergroup");
        user(101, INTERNAL, "notification-bot@zulip.com", true, false, 201);
        user(102, INTERNAL, "welcome-bot@zulip.com", true, false, 202);
        user(ALICE, REALM, "alice@example.com", false, false, 2001);
        user(BOB, REALM, "bob@example.com", false, false, 2002);
        user(DUMMY, REALM, "dummy@irc.example.com", false, true, 2003);
        user(CAROL, OTHER, "carol@other.example.com", false, false, 2101);
        stream(3001, REALM, "general", 4001, ALICE, BOB, DUMMY);
        stream(3101, OTHER, "general", 4101, CAROL);
        group(5001, 6001, ALICE, BOB);
        group(5002, 6002, ALICE, CAROL);
        insert("zerver_usergroupmembership", "id", 1, "user_group_id", REALM, "user_profile_id", ALICE);
        insert("zerver_useractivity", "id", 1, "user_profile_id", ALICE, "client_id", 2, "query", "get_events", "count", 3);
        insert("zerver_scheduledmessage", "id", 1, "sender_id", ALICE, "recipient_id", 4001, "realm_id", REALM,
                "stream_id", 3001, "sending_client_id", 1, "subject", "later", "content", "see file");
        insert("zerver_attachment", "id", 1, "file_name", "a.png", "path_id", "2/ab/a.png", "owner_id", ALICE, "realm_id", REALM);
        insert("zerver_attachment", "id", 2, "file_name", "b.png", "path_id", "2/cd/b.png", "owner_id", ALICE, "realm_id", REALM);
        insert("zerver_attachment_scheduled_messages", "id", 1, "attachment_id", 2, "scheduledmessage_id", 1);
        try (Statement s = c.createStatement()) {
            String common = ", 1, 'topic', 'hello ' || g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second',"
                    + " false, false, false, ";
            s.execute("INSERT INTO zerver_message (id, type, subject, content, date_sent, has_attachment, has_image,"
                    + " has_link, sender_id, sending_client_id, realm_id, recipient_id, is_channel_message)"
                    + " SELECT 10 * g" + common
                    + " CASE WHEN g % 10 IN (6) THEN " + BOB + " WHEN g % 10 = 8 THEN " + NOTIFICATION_BOT + " ELSE " + ALICE + " END,"
                    + " CASE WHEN g % 10 = 7 THEN 2 ELSE 1 END, " + REALM + ","
                    + " CASE WHEN g % 10 <= 5 THEN 4001 WHEN g % 10 = 6 THEN 6001 WHEN g % 10 = 7 THEN 2002"
                    + " WHEN g % 10 = 8 THEN 2001 ELSE 201 END, g % 10 <= 5 FROM generate_series(1, " + n + ") g");
            s.execute("INSERT INTO zerver_message (id, type, subject, content, date_sent, has_attachment, has_image,"
                    + " has_link, sender_id, sending_client_id, realm_id, recipient_id, is_channel_message)"
                    + " SELECT 10 * g + 1" + common + CAROL + ", 1, " + OTHER + ", 4101, true FROM generate_series(1, " + n + ") g");
            s.execute("INSERT INTO zerver_message (id, type, subject, content, date_sent, has_attachment, has_image,"
                    + " has_link, sender_id, sending_client_id, realm_id, recipient_id, is_channel_message)"
                    + " SELECT 10 * g + 2" + common + ALICE + ", 1, " + REALM + ", 6002, false"
                    + " FROM generate_series(50, " + n + ", 50) g");
            // usermessages: the users who received each message (the sender too), a dummy on the stream
            s.execute("INSERT INTO zerver_usermessage (id, flags, message_id, user_profile_id)"
                    + " SELECT m.id * 10 + u.k, m.id % 7, m.id, u.uid FROM zerver_message m CROSS JOIN LATERAL (VALUES"
                    + " (1, CASE WHEN m.realm_id = " + OTHER + " THEN " + CAROL + " ELSE " + ALICE + " END),"
                    + " (2, CASE WHEN m.recipient_id IN (4001, 6001, 2002) THEN " + BOB + " END),"
                    + " (3, CASE WHEN m.recipient_id = 4001 AND m.id % 20 = 0 THEN " + DUMMY + " END),"
                    + " (4, CASE WHEN m.recipient_id = 6002 THEN " + CAROL + " END)) AS u(k, uid) WHERE u.uid IS NOT NULL");
            s.execute("UPDATE zerver_message SET has_attachment = true WHERE id IN (100, 200, 210)");
            s.execute("INSERT INTO zerver_attachment_messages (id, attachment_id, message_id) VALUES (1, 1, 100), (2, 1, 200), (3, 2, 210)");
            s.execute("INSERT INTO django_migrations (app, name, applied) VALUES"
                    + " ('zerver', '0002_zulip_update', now()), ('zerver', '0001_initial', now()),"
                    + " ('analytics', '0001_squashed_0021_alter_fillstate_id', now()), ('analytics', '0001_initial', now()),"
                    + " ('analytics', '0022_later', now()), ('contenttypes', '0001_initial', now()), ('sites', '0001_initial', now())");
        }
    }

    private void user(long id, long realm, String email, boolean bot, boolean dummy, long recipient) throws SQLException {
        fkDefaults.put("zerver_usergroup", realm);
        insert("zerver_userprofile", "id", id, "realm_id", realm, "email", email, "delivery_email", email,
                "full_name", email, "is_bot", bot, "is_mirror_dummy", dummy, "is_active", !dummy,
                "api_key", "SECRET-API-KEY-" + id, "password", "SECRET-PASSWORD-" + id, "recipient_id", recipient);
        insert("zerver_recipient", "id", recipient, "type", 1, "type_id", id);
        insert("zerver_subscription", "id", recipient, "user_profile_id", id, "recipient_id", recipient);
        fkDefaults.remove("zerver_usergroup");
    }

    private void stream(long id, long realm, String name, long recipient, long... members) throws SQLException {
        fkDefaults.put("zerver_usergroup", realm);
        insert("zerver_stream", "id", id, "realm_id", realm, "name", name, "recipient_id", recipient);
        insert("zerver_recipient", "id", recipient, "type", 2, "type_id", id);
        for (long m : members) {
            insert("zerver_subscription", "id", recipient * 10000 + m % 10000, "user_profile_id", m, "recipient_id", recipient);
        }
        fkDefaults.remove("zerver_usergroup");
    }

    private void group(long id, long recipient, long... members) throws SQLException {
        insert("zerver_huddle", "id", id, "huddle_hash", "hash" + id, "recipient_id", recipient, "group_size", members.length);
        insert("zerver_recipient", "id", recipient, "type", 3, "type_id", id);
        for (long m : members) {
            insert("zerver_subscription", "id", recipient * 10000 + m % 10000, "user_profile_id", m, "recipient_id", recipient);
        }
    }

    /** Inserts one row; NOT NULL columns without a default that are not given get a neutral value. */
    void insert(String table, Object... keyValues) throws SQLException {
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            values.put((String) keyValues[i], keyValues[i + 1]);
        }
        for (String[] col : columns(table)) {
            String name = col[0];
            if (values.containsKey(name) || !"NO".equals(col[1]) || col[2] != null || "YES".equals(col[4])) {
                continue;
            }
            Object v;
            if (col[5] != null) {
                v = fkDefaults.get(col[5]);
                if (v == null) {
                    throw new IllegalStateException(table + "." + name + " needs a value (foreign key to " + col[5] + ")");
                }
            } else {
                v = switch (col[3]) {
                    case "bool" -> false;
                    case "int2", "int4", "int8", "numeric", "float8", "float4" -> 0;
                    case "timestamptz", "timestamp" -> java.sql.Timestamp.valueOf("2024-01-01 00:00:00");
                    case "jsonb", "json" -> "{}";
                    case "uuid" -> java.util.UUID.nameUUIDFromBytes((table + values).getBytes(StandardCharsets.UTF_8));
                    default -> col[3].startsWith("_") ? "{}" : "";
                };
            }
            values.put(name, v);
        }
        List<String> names = new ArrayList<>(values.keySet());
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(table).append(" (")
                .append(String.join(", ", names)).append(") VALUES (");
        for (int i = 0; i < names.size(); i++) {
            String type = type(table, names.get(i));
            sql.append(i == 0 ? "" : ", ").append("CAST(? AS ").append(type.startsWith("_") ? type.substring(1) + "[]" : type).append(")");
        }
        sql.append(")");
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < names.size(); i++) {
                Object v = values.get(names.get(i));
                ps.setObject(i + 1, v instanceof Number || v instanceof Boolean || v instanceof java.sql.Timestamp ? v : v == null ? null : v.toString());
            }
            ps.executeUpdate();
        }
    }

    private String type(String table, String column) throws SQLException {
        return columns(table).stream().filter(c -> c[0].equals(column)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(table + " has no column " + column))[3];
    }

    /** name, is_nullable, column_default, udt_name, is_identity, referenced table (or null). */
    private List<String[]> columns(String table) throws SQLException {
        List<String[]> cached = columns.get(table);
        if (cached != null) {
            return cached;
        }
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT col.column_name, col.is_nullable, col.column_default, col.udt_name, col.is_identity,
                  (SELECT rc.relname FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
                   WHERE con.contype = 'f' AND con.conrelid = (quote_ident(col.table_schema) || '.' || quote_ident(col.table_name))::regclass
                   AND a.attname = col.column_name LIMIT 1)
                FROM information_schema.columns col
                WHERE col.table_schema = current_schema() AND col.table_name = ? ORDER BY col.ordinal_position""")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6)});
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no table " + table);
        }
        columns.put(table, out);
        return out;
    }
}
