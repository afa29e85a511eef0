package org.realmexport.common.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The tables of the connection's current schema (PostgreSQL's {@code current_schema()}, which a
 * Zulip server sets to {@code zulip}): columns in their declared order with their PostgreSQL type,
 * the primary key, and the single-column foreign keys (column to referenced table).
 *
 * <p>Read from {@code pg_catalog} in two queries and immutable afterwards, so one catalog can be
 * shared by every task of a process ({@link Database#catalog()} caches it).
 */
public final class SchemaCatalog {
    private final String schema;
    private final Map<String, Table> tables;

    private SchemaCatalog(String schema, Map<String, Table> tables) {
        this.schema = schema;
        this.tables = Collections.unmodifiableMap(tables);
    }

    /** Reads the catalog of {@code current_schema()} through {@code connection}. */
    public static SchemaCatalog read(Connection connection) throws SQLException {
        String schema;
        try (PreparedStatement ps = connection.prepareStatement("SELECT current_schema()");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            schema = rs.getString(1);
        }
        if (schema == null) {
            throw new SQLException("the connection has no current schema: check currentSchema= in the JDBC URL");
        }
        Map<String, List<Column>> columns = new TreeMap<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT c.relname, a.attname, t.typname, a.attnotnull
                FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                  AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY c.relname, a.attnum""")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
                            .add(new Column(rs.getString(2), rs.getString(3), !rs.getBoolean(4)));
                }
            }
        }
        Map<String, List<String>> primaryKeys = new TreeMap<>();
        Map<String, Map<String, String>> foreignKeys = new TreeMap<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT c.relname, con.contype, a.attname, rc.relname, cardinality(con.conkey)
                FROM pg_constraint con
                JOIN pg_class c ON c.oid = con.conrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                LEFT JOIN pg_class rc ON rc.oid = con.confrelid
                WHERE n.nspname = ? AND con.contype IN ('p', 'f')
                ORDER BY c.relname, con.contype, con.conname, k.ord""")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String table = rs.getString(1);
                    if ("p".equals(rs.getString(2))) {
                        primaryKeys.computeIfAbsent(table, k -> new ArrayList<>()).add(rs.getString(3));
                    } else if (rs.getInt(5) == 1) {
                        // Django foreign keys are single-column; composite ones are not "a field"
                        foreignKeys.computeIfAbsent(table, k -> new TreeMap<>())
                                .put(rs.getString(3), rs.getString(4));
                    }
                }
            }
        }
        Map<String, Table> tables = new LinkedHashMap<>();
        columns.forEach((name, cols) -> tables.put(name, new Table(name, cols,
                primaryKeys.getOrDefault(name, List.of()), foreignKeys.getOrDefault(name, Map.of()))));
        return new SchemaCatalog(schema, tables);
    }

    public String schema() {
        return schema;
    }

    /** Names of all tables (and views), sorted. */
    public Set<String> tableNames() {
        return tables.keySet();
    }

    public Optional<Table> table(String name) {
        return Optional.ofNullable(tables.get(name));
    }

    public boolean hasTable(String name) {
        return tables.containsKey(name);
    }

    /** The table, or an {@link IllegalStateException} naming it and the schema. */
    public Table require(String name) {
        Table t = tables.get(name);
        if (t == null) {
            throw new IllegalStateException("table " + name + " does not exist in schema " + schema
                    + " (is this a Zulip database, and is currentSchema= right?)");
        }
        return t;
    }

    /** True when {@code table} exists and has {@code column}. */
    public boolean hasColumn(String table, String column) {
        Table t = tables.get(table);
        return t != null && t.hasColumn(column);
    }

    /**
     * One column.
     *
     * @param name     column name
     * @param sqlType  PostgreSQL type name ({@code pg_type.typname}: {@code int8}, {@code timestamptz},
     *                 {@code jsonb}, {@code _int4} for an {@code integer[]} ...)
     * @param nullable whether it may be null
     */
    public record Column(String name, String sqlType, boolean nullable) {
        public boolean isTimestamp() {
            return "timestamptz".equals(sqlType) || "timestamp".equals(sqlType);
        }

        public boolean isJson() {
            return "jsonb".equals(sqlType) || "json".equals(sqlType);
        }

        public boolean isArray() {
            return sqlType.startsWith("_");
        }
    }

    /** One table: its columns in declared order, primary key, and foreign keys. */
    public static final class Table {
        private final String name;
        private final List<Column> columns;
        private final Map<String, Column> byName = new LinkedHashMap<>();
        private final List<String> primaryKey;
        private final Map<String, String> foreignKeys;

        Table(String name, List<Column> columns, List<String> primaryKey, Map<String, String> foreignKeys) {
            this.name = name;
            this.columns = List.copyOf(columns);
            this.primaryKey = List.copyOf(primaryKey);
            this.foreignKeys = Collections.unmodifiableMap(new TreeMap<>(foreignKeys));
            columns.forEach(c -> byName.put(c.name(), c));
        }

        public String name() {
            return name;
        }

        public List<Column> columns() {
            return columns;
        }

        public Optional<Column> column(String column) {
            return Optional.ofNullable(byName.get(column));
        }

        public boolean hasColumn(String column) {
            return byName.containsKey(column);
        }

        /** Primary-key columns, in key order (empty for a table without one). */
        public List<String> primaryKey() {
            return primaryKey;
        }

        /** Single-column foreign keys: column name to referenced table name, sorted by column. */
        public Map<String, String> foreignKeys() {
            return foreignKeys;
        }

        /** The table {@code column} references, when it is a real foreign key. */
        public Optional<String> referencedTable(String column) {
            return Optional.ofNullable(foreignKeys.get(column));
        }

        /**
         * The column rows are sorted by: {@code id} when the table has it (every Zulip export
         * list is sorted by id), else the first primary-key column, else the first column.
         */
        public String sortColumn() {
            if (hasColumn("id")) {
                return "id";
            }
            return primaryKey.isEmpty() ? columns.get(0).name() : primaryKey.get(0);
        }

        /**
         * The Django field name of a column: a real foreign key ending in {@code _id} loses it
         * ({@code sender_id} is field {@code sender}); every other column keeps its name
         * ({@code path_id}, {@code type_id}, {@code string_id}). {@link ExportRules#fieldName}
         * adds the few renames that metadata cannot tell.
         */
        public String djangoName(String column) {
            if (column.endsWith("_id") && column.length() > 3 && foreignKeys.containsKey(column)) {
                return column.substring(0, column.length() - 3);
            }
            return column;
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
