package org.realmexport.common.db;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.Json;
import org.realmexport.localstack.EmbeddedStack;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The db package on a real PostgreSQL with a few hand-made Zulip-like tables in schema "zulip"
 * (and a decoy table of the same name in "public"), independent of the full fixture schema.
 */
class ZulipRowWriterTest {
    static EmbeddedStack stack;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start();
        // the superuser builds the tables (and a decoy in schema public); Zulip's role only reads
        try (Connection c = DriverManager.getConnection(stack.adminJdbcUrl()); Statement s = c.createStatement()) {
            s.execute("""
                    CREATE TABLE public.zerver_message (id int PRIMARY KEY, decoy text);
                    SET search_path = zulip;
                    CREATE TABLE zerver_realm (id int PRIMARY KEY, string_id text NOT NULL, date_created timestamptz NOT NULL);
                    CREATE TABLE zerver_userprofile (id int PRIMARY KEY, realm_id int NOT NULL REFERENCES zerver_realm,
                        email text, api_key text, password text, uuid uuid, date_joined timestamptz,
                        last_login timestamptz, is_mirror_dummy boolean NOT NULL DEFAULT false);
                    CREATE TABLE zerver_recipient (id int PRIMARY KEY, type int NOT NULL, type_id int NOT NULL);
                    CREATE TABLE zerver_message (id int PRIMARY KEY, sender_id int NOT NULL REFERENCES zerver_userprofile,
                        recipient_id int NOT NULL REFERENCES zerver_recipient, realm_id int NOT NULL REFERENCES zerver_realm,
                        subject text, date_sent timestamptz NOT NULL, last_edit_time timestamptz,
                        search_tsvector tsvector, has_link boolean);
                    CREATE TABLE zerver_usermessage (id bigint PRIMARY KEY, flags bigint NOT NULL,
                        message_id int NOT NULL REFERENCES zerver_message, user_profile_id int NOT NULL REFERENCES zerver_userprofile);
                    CREATE TABLE zerver_attachment (id int PRIMARY KEY, path_id text NOT NULL, owner_id int REFERENCES zerver_userprofile);
                    CREATE TABLE zerver_realmauditlog (id int PRIMARY KEY, realm_id int REFERENCES zerver_realm,
                        event_time timestamptz NOT NULL, extra_data jsonb, tags int[], "end" timestamp);
                    INSERT INTO zerver_realm VALUES (1, '', '2023-11-14 22:13:20.123456+00'), (2, 'other', '1969-12-31 23:59:59.5+00');
                    INSERT INTO zerver_userprofile VALUES
                        (11, 1, 'b@x', 'SECRETKEY', 'pbkdf2$SECRETPW', '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '2023-11-14 22:13:20+00', NULL, false),
                        (10, 1, 'a@x', 'SECRETKEY2', 'pbkdf2$SECRETPW2', '6ba7b811-9dad-11d1-80b4-00c04fd430c8', '2023-11-14 22:13:20.5+01', NULL, false);
                    INSERT INTO zerver_recipient VALUES (5, 2, 1);
                    INSERT INTO zerver_message VALUES (100, 10, 5, 1, 'hi', '2023-11-14 22:13:20.000001+00', NULL, to_tsvector('SECRETWORDS'), true);
                    INSERT INTO zerver_usermessage VALUES (7, 3, 100, 11), (6, 1, 100, 10);
                    INSERT INTO zerver_attachment VALUES (1, '1/ab/cd/f.png', 10);
                    INSERT INTO zerver_realmauditlog VALUES (1, 1, '2023-11-14 22:13:20+00', '{"b": [1, 2.5, null], "a": "x"}', '{3,1}', '2023-11-14 22:13:20');
                    GRANT SELECT ON ALL TABLES IN SCHEMA zulip TO zulip;
                    """);
        }
        url = stack.jdbcUrl();
    }

    @AfterAll
    static void stop() throws Exception {
        stack.close();
    }

    static Database database() {
        return new Database(url, null, null, 2, "test");
    }

    @Test
    void catalogDiscoversTablesColumnsKeysOfTheCurrentSchemaOnly() throws Exception {
        try (Database db = database()) {
            SchemaCatalog catalog = db.catalog();
            assertThat(catalog.schema()).isEqualTo("zulip");
            SchemaCatalog.Table message = catalog.require("zerver_message");
            assertThat(message.hasColumn("decoy")).isFalse(); // public.zerver_message is another table
            assertThat(message.primaryKey()).containsExactly("id");
            assertThat(message.foreignKeys()).containsEntry("sender_id", "zerver_userprofile")
                    .containsEntry("recipient_id", "zerver_recipient").containsEntry("realm_id", "zerver_realm")
                    .hasSize(3);
            assertThat(message.column("date_sent").orElseThrow().isTimestamp()).isTrue();
            assertThat(catalog.require("zerver_realmauditlog").column("tags").orElseThrow().isArray()).isTrue();
            assertThat(catalog.table("zerver_huddle")).isEmpty();
            assertThat(catalog.hasColumn("zerver_message", "is_channel_message")).isFalse();
            assertThat(message.djangoName("sender_id")).isEqualTo("sender");
            assertThat(catalog.require("zerver_attachment").djangoName("path_id")).isEqualTo("path_id");
            assertThat(catalog.require("zerver_recipient").djangoName("type_id")).isEqualTo("type_id");
            assertThat(catalog.require("zerver_realm").djangoName("string_id")).isEqualTo("string_id");
            assertThat(catalog.require("zerver_attachment").djangoName("owner_id")).isEqualTo("owner");
        }
    }

    @Test
    void rowsAreWrittenWithDjangoNamesFloatDatetimesEmbeddedJsonAndNoSecrets() throws Exception {
        try (Database db = database(); Connection c = db.connection()) {
            SchemaCatalog catalog = db.catalog();
            String users = write(c, ZulipRowWriter.forTable(catalog.require("zerver_userprofile")), "t.realm_id = ?", List.of(1));
            assertThat(users).doesNotContain("SECRET", "api_key", "password", "uuid", "6ba7b81");
            JsonNode userRows = Json.MAPPER.readTree(users).get("rows");
            assertThat(userRows).extracting(r -> r.get("id").asLong()).containsExactly(10L, 11L); // sorted by id
            assertThat(userRows.get(0).get("realm").asLong()).isEqualTo(1);
            assertThat(userRows.get(0).has("realm_id")).isFalse();
            assertThat(userRows.get(0).get("last_login").isNull()).isTrue();
            // 22:13:20.5+01 is 21:13:20.5 UTC
            assertThat(users).contains("\"date_joined\":1699996400.5,").contains("\"date_joined\":1700000000.0,");

            String messages = write(c, ZulipRowWriter.forTable(catalog.require("zerver_message")), null, List.of());
            assertThat(messages).doesNotContain("search_tsvector", "secretword")
                    .contains("\"sender\":10,\"recipient\":5,\"realm\":1,")
                    .contains("\"date_sent\":1700000000.000001,\"last_edit_time\":null");

            String um = write(c, ZulipRowWriter.forTable(catalog.require("zerver_usermessage")), null, List.of());
            assertThat(um).isEqualTo("{\"rows\":[{\"id\":6,\"flags_mask\":1,\"message\":100,\"user_profile\":10},"
                    + "{\"id\":7,\"flags_mask\":3,\"message\":100,\"user_profile\":11}]}");

            String realms = write(c, ZulipRowWriter.forTable(catalog.require("zerver_realm")), "t.id = ANY(?)", List.of(List.of(2L)));
            assertThat(realms).contains("\"date_created\":-0.5}");

            String log = write(c, ZulipRowWriter.forTable(catalog.require("zerver_realmauditlog")), null, List.of());
            JsonNode row = Json.MAPPER.readTree(log).get("rows").get(0);
            assertThat(row.get("extra_data").isObject()).isTrue();
            assertThat(row.get("extra_data").get("b").get(1).asDouble()).isEqualTo(2.5);
            assertThat(row.get("tags")).extracting(JsonNode::asInt).containsExactly(3, 1);
            assertThat(log).contains("\"end\":1700000000.0");
        }
    }

    @Test
    void anUnknownColumnIsExportedWithoutAnyCodeChange() throws Exception {
        try (Connection admin = DriverManager.getConnection(stack.adminJdbcUrl());
             Statement s = admin.createStatement()) {
            s.execute("ALTER TABLE zulip.zerver_attachment ADD COLUMN future_flag boolean DEFAULT true;"
                    + "ALTER TABLE zulip.zerver_attachment ADD COLUMN scanned_at timestamptz DEFAULT '2023-11-14 22:13:20+00'");
        }
        try (Database db = database(); Connection c = db.connection()) {
            String out = write(c, ZulipRowWriter.forTable(db.catalog().require("zerver_attachment")), null, List.of());
            assertThat(out).isEqualTo("{\"rows\":[{\"id\":1,\"path_id\":\"1/ab/cd/f.png\",\"owner\":10,"
                    + "\"future_flag\":true,\"scanned_at\":1700000000.0}]}");
        } finally {
            try (Connection admin = DriverManager.getConnection(stack.adminJdbcUrl());
                 Statement s = admin.createStatement()) {
                s.execute("ALTER TABLE zulip.zerver_attachment DROP COLUMN future_flag, DROP COLUMN scanned_at");
            }
        }
    }

    @Test
    void textIsWrittenAsJacksonWritesItsString() throws Exception {
        // text and varchar go from pgjdbc's UTF-8 bytes straight into the file; they must give the
        // very bytes the String path gives: escapes, multi-byte and 4-byte characters, empty text
        String[] samples = {"plain", "", "quote \" backslash \\ slash /", "tab\tnew\nline\r\u0001\u001f\u007f",
                "caf\u00e9 \u4e2d\u6587 \u0928\u092e", "emoji \ud83d\ude00 and \ud83c\udf89", "line \u2028 sep \u2029",
                "<b>&amp;</b> \u00a0"};
        try (Connection admin = DriverManager.getConnection(stack.adminJdbcUrl());
             Statement s = admin.createStatement()) {
            s.execute("CREATE TABLE zulip.zerver_textsample (id int PRIMARY KEY, body text, label varchar(80));"
                    + " GRANT SELECT ON zulip.zerver_textsample TO zulip");
            try (var insert = admin.prepareStatement("INSERT INTO zulip.zerver_textsample VALUES (?, ?, ?)")) {
                for (int i = 0; i < samples.length; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, samples[i]);
                    insert.setString(3, i % 2 == 0 ? samples[samples.length - 1 - i] : null);
                    insert.executeUpdate();
                }
            }
        }
        try (Database db = database(); Connection c = db.connection()) {
            String out = write(c, ZulipRowWriter.forTable(db.catalog().require("zerver_textsample")), null, List.of());
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            try (JsonGenerator g = Json.FACTORY.createGenerator(expected)) {
                g.writeStartObject();
                g.writeArrayFieldStart("rows");
                for (int i = 0; i < samples.length; i++) {
                    g.writeStartObject();
                    g.writeNumberField("id", i);
                    g.writeStringField("body", samples[i]);
                    if (i % 2 == 0) {
                        g.writeStringField("label", samples[samples.length - 1 - i]);
                    } else {
                        g.writeNullField("label");
                    }
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            assertThat(out).isEqualTo(expected.toString(StandardCharsets.UTF_8));
            assertThat(Json.MAPPER.readTree(out).get("rows").get(5).get("body").asText()).isEqualTo(samples[5]);
            // a generator over characters (no raw UTF-8 path) writes the same text
            java.io.StringWriter chars = new java.io.StringWriter();
            try (JsonGenerator g = Json.FACTORY.createGenerator(chars)) {
                g.writeStartObject();
                ZulipRowWriter.forTable(db.catalog().require("zerver_textsample"))
                        .writeList(g, "rows", c, null, List.of(), null);
                g.writeEndObject();
            }
            assertThat(chars.toString()).isEqualTo(out);
        } finally {
            try (Connection admin = DriverManager.getConnection(stack.adminJdbcUrl());
                 Statement s = admin.createStatement()) {
                s.execute("DROP TABLE zulip.zerver_textsample");
            }
        }
    }

    @Test
    void connectionsAreReadOnlyAndThePasswordNeverInADescription() throws Exception {
        assertThat(Database.redact("jdbc:postgresql://h/db?user=z&password=hunter2&currentSchema=zulip"))
                .isEqualTo("jdbc:postgresql://h/db?user=z&password=***&currentSchema=zulip");
        try (Database db = new Database(url + "&password=hunter2", null, null, 1, "t"); Connection c = db.connection()) {
            assertThat(db.describe()).doesNotContain("hunter2");
            assertThat(c.isReadOnly()).isTrue();
            assertThat(c.getAutoCommit()).isFalse();
        }
    }

    @Test
    void epochSecondsArePlainDecimals() {
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(0))).isEqualTo("0.0");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(1700000000, 120_000_000))).isEqualTo("1700000000.12");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(-1, 500_000_000))).isEqualTo("-0.5");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(1700000000, 1_000))).isEqualTo("1700000000.000001");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(1700000000, 123_456_000))).isEqualTo("1700000000.123456");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(1700000000, 100_000))).isEqualTo("1700000000.0001");
        assertThat(ZulipRowWriter.epochSeconds(java.time.Instant.ofEpochSecond(-2, 250_000))).isEqualTo("-1.99975");
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 10_000; i++) {
            java.time.Instant instant = java.time.Instant.ofEpochSecond(random.nextInt(2_000_000_000),
                    random.nextInt(1_000_000) * 1000L);
            assertThat(ZulipRowWriter.epochSeconds(instant)).isEqualTo(
                    java.math.BigDecimal.valueOf(instant.getEpochSecond()).add(java.math.BigDecimal.valueOf(instant.getNano(), 9))
                            .stripTrailingZeros().toPlainString().replaceAll("^(-?\\d+)$", "$1.0"));
        }
    }

    private static String write(Connection c, ZulipRowWriter w, String where, List<?> params) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.writeStartObject();
            w.writeList(g, "rows", c, where, params, null);
            g.writeEndObject();
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
