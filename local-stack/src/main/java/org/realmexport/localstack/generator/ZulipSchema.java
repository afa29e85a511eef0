package org.realmexport.localstack.generator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Zulip-shaped schema ({@code zulip-schema.sql}): a current Zulip's own tables, columns,
 * keys, indexes and foreign keys for everything an export reads (and every other table of
 * Zulip's apps, in outline), created in the connection's current schema (a real server uses
 * schema {@code zulip}); {@link #toZulip11Layout} turns it into Zulip 11.0's.
 *
 * <p>The file has two parts split by a {@code -- @@post-load} line: the tables, then the keys,
 * indexes and foreign keys, which a bulk loader may apply after loading (faster); applying both
 * in order gives the complete schema.
 */
public final class ZulipSchema {
    /** Class-path location of the DDL. */
    public static final String RESOURCE = "/org/realmexport/localstack/zulip-schema.sql";
    /** Class-path location of the statements that turn the schema into Zulip 11.0's layout. */
    public static final String ZULIP_11_LAYOUT = "/org/realmexport/localstack/zulip-11.0-layout.sql";
    static final String POST_LOAD_MARKER = "-- @@post-load";

    private static final Pattern CREATE_TABLE = Pattern.compile("(?m)^CREATE TABLE (\\w+) \\(");
    private static volatile String ddl;

    private ZulipSchema() {
    }

    /** The whole DDL text. */
    public static String ddl() {
        String text = ddl;
        if (text == null) {
            try (InputStream in = ZulipSchema.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + RESOURCE + " is missing from the class path");
                }
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ddl = text;
        }
        return text;
    }

    /** Names of the tables the schema creates, in file (alphabetical) order. */
    public static List<String> tableNames() {
        List<String> names = new ArrayList<>();
        Matcher m = CREATE_TABLE.matcher(ddl());
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** Creates the complete schema (tables, keys, indexes, foreign keys) in the current schema. */
    public static void create(Connection connection) throws SQLException {
        createTables(connection);
        applyPostLoad(connection);
    }

    /**
     * Turns a loaded schema (tables, rows and django_migrations) into Zulip 11.0's layout, the
     * older of the two layouts the exporter is tested on.
     */
    public static void toZulip11Layout(Connection connection) throws SQLException {
        try (InputStream in = ZulipSchema.class.getResourceAsStream(ZULIP_11_LAYOUT)) {
            if (in == null) {
                throw new IllegalStateException("resource " + ZULIP_11_LAYOUT + " is missing from the class path");
            }
            execute(connection, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when the current schema already has Zulip's tables (judged by {@code zerver_realm}). */
    public static boolean exists(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('zerver_realm') IS NOT NULL")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** The subset of {@code tables} missing from the current schema. */
    public static List<String> missingTables(Connection connection, List<String> tables) throws SQLException {
        List<String> missing = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT to_regclass(?) IS NULL")) {
            for (String table : tables) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        missing.add(table);
                    }
                }
            }
        }
        return missing;
    }

    static void createTables(Connection connection) throws SQLException {
        execute(connection, part(true));
    }

    static void applyPostLoad(Connection connection) throws SQLException {
        execute(connection, part(false));
    }

    /** The post-load statements one by one (a bulk loader may time or order them). */
    static List<String> postLoadStatements() {
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : part(false).split("\n")) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("--")) {
                continue;
            }
            current.append(current.length() == 0 ? "" : " ").append(s);
            if (s.endsWith(";")) {
                statements.add(current.substring(0, current.length() - 1));
                current.setLength(0);
            }
        }
        if (current.length() > 0) {
            statements.add(current.toString());
        }
        return statements;
    }

    private static String part(boolean tables) {
        String text = ddl();
        int marker = text.indexOf(POST_LOAD_MARKER);
        if (marker < 0) {
            throw new IllegalStateException(RESOURCE + " has no '" + POST_LOAD_MARKER + "' line");
        }
        return tables ? text.substring(0, marker) : text.substring(marker);
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        // One round trip: PostgreSQL's simple query protocol runs the statements in order.
        try (Statement st = connection.createStatement()) {
            st.execute(sql);
        }
    }
}
