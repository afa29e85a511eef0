package org.realmexport.common.db;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.json.UTF8JsonGenerator;
import org.realmexport.common.Json;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes the rows of one table as Zulip export JSON objects, streaming from a result set into a
 * Jackson {@link JsonGenerator}: one object per row, keys in column order.
 *
 * <ul>
 *   <li>key = the Django field name ({@link ExportRules#fieldName}): {@code sender_id} (a real
 *       foreign key) becomes {@code "sender"}; {@code path_id} keeps its name.</li>
 *   <li>timestamp / timestamptz = float epoch seconds written as a plain decimal
 *       ({@code 1700000000.123456}, {@code 1700000000.0} when whole): the same bytes every time.</li>
 *   <li>json / jsonb = the JSON value itself (parsed and re-emitted, never a string).</li>
 *   <li>arrays = JSON lists; bytea = base64; anything else PostgreSQL can print = its text.</li>
 *   <li>the columns of {@link ExportRules#EXCLUDED_COLUMNS} are not even selected.</li>
 * </ul>
 *
 * <p>Instances are immutable (the {@code with...} methods return copies) and thread-safe; build
 * one per table and reuse it. Queries alias the table as {@code t}.
 */
public final class ZulipRowWriter {
    /** Rows fetched per round trip: pgjdbc streams with it when auto-commit is off. */
    public static final int FETCH_SIZE = 1000;

    private final SchemaCatalog.Table table;
    private final List<Field> fields;
    private final Map<String, Integer> indexByName;

    /**
     * One output key: its name, the SQL that computes it, and how to write the value. The name is
     * also kept quoted and encoded once, since it is written for every row (tens of millions).
     */
    private record Field(String name, String sql, Kind kind, SerializableString key) {
        Field(String name, String sql, Kind kind) {
            this(name, sql, kind, new SerializedString(name));
        }
    }

    private ZulipRowWriter(SchemaCatalog.Table table, List<Field> fields) {
        this.table = table;
        this.fields = List.copyOf(fields);
        Map<String, Integer> idx = new HashMap<>();
        for (int i = 0; i < this.fields.size(); i++) {
            if (idx.put(this.fields.get(i).name(), i + 1) != null) {
                throw new IllegalArgumentException("field " + this.fields.get(i).name()
                        + " twice in the export of " + table.name());
            }
        }
        this.indexByName = idx;
    }

    /** Every column of {@code table} but the excluded ones, named as Django names them. */
    public static ZulipRowWriter forTable(SchemaCatalog.Table table) {
        List<Field> fields = new ArrayList<>();
        if (!table.hasColumn("id") && table.primaryKey().size() == 1
                && table.primaryKey().get(0).endsWith("_ptr_id")) {
            // Django multi-table inheritance (NamedUserGroup): model_to_dict also gives the
            // parent's "id", which equals the pointer column
            String ptr = table.primaryKey().get(0);
            fields.add(new Field("id", "t." + quote(ptr), Kind.of(table.column(ptr).orElseThrow().sqlType())));
        }
        for (SchemaCatalog.Column c : table.columns()) {
            if (!ExportRules.excluded(table.name(), c.name())) {
                fields.add(new Field(ExportRules.fieldName(table, c.name()), "t." + quote(c.name()),
                        Kind.of(c.sqlType())));
            }
        }
        return new ZulipRowWriter(table, fields);
    }

    /** A copy that computes the field of {@code column} with {@code sqlExpression} instead. */
    public ZulipRowWriter withExpression(String column, String sqlExpression) {
        String name = ExportRules.fieldName(table, column);
        List<Field> copy = new ArrayList<>(fields);
        int i = indexOf(name) - 1;
        copy.set(i, new Field(name, sqlExpression, copy.get(i).kind()));
        return new ZulipRowWriter(table, copy);
    }

    /**
     * A copy with one more field at the end, computed by {@code sqlExpression} (over alias
     * {@code t}) of PostgreSQL type {@code sqlType} ({@code _int8} for an id list, {@code bool} ...).
     */
    public ZulipRowWriter withField(String name, String sqlExpression, String sqlType) {
        List<Field> copy = new ArrayList<>(fields);
        copy.add(new Field(name, sqlExpression, Kind.of(sqlType)));
        return new ZulipRowWriter(table, copy);
    }

    /**
     * A copy with a sorted id list field (a many-to-many table), e.g. {@code groups} from
     * {@code zerver_userprofile_groups(userprofile_id, group_id)}.
     */
    public ZulipRowWriter withIdList(String name, String linkTable, String ownerColumn, String valueColumn) {
        return withField(name, "ARRAY(SELECT l." + quote(valueColumn) + " FROM " + quote(linkTable)
                + " l WHERE l." + quote(ownerColumn) + " = t." + quote(table.sortColumn())
                + " ORDER BY 1)", "_int8");
    }

    public SchemaCatalog.Table table() {
        return table;
    }

    /** The output keys, in order. */
    public List<String> fieldNames() {
        return fields.stream().map(Field::name).toList();
    }

    /** 1-based result-set index of an output key, for {@link RowVisitor}s. */
    public int indexOf(String fieldName) {
        Integer i = indexByName.get(fieldName);
        if (i == null) {
            throw new IllegalArgumentException(table.name() + " has no exported field " + fieldName);
        }
        return i;
    }

    public boolean hasField(String fieldName) {
        return indexByName.containsKey(fieldName);
    }

    /** {@code SELECT <fields> FROM <table> t}. */
    public String selectFrom() {
        return "SELECT " + fields.stream().map(f -> f.sql() + " AS " + quote(f.name()))
                .collect(Collectors.joining(", ")) + " FROM " + quote(table.name()) + " t";
    }

    /** {@code SELECT ... FROM table t WHERE <where> ORDER BY t.id} (or the table's sort column). */
    public String query(String where) {
        return selectFrom() + (where == null || where.isBlank() ? "" : " WHERE " + where)
                + " ORDER BY t." + quote(table.sortColumn());
    }

    /**
     * Writes {@code "key": [rows...]} from {@link #query(String)}, streaming.
     *
     * @param params  bound in order; a {@link Collection} is bound as a {@code bigint[]}
     *                (use {@code = ANY(?)})
     * @param visitor called after each row is written (collect ids, check a cancel flag); may be null
     * @return the number of rows written
     */
    public long writeList(JsonGenerator g, String key, Connection connection, String where,
                          List<?> params, RowVisitor visitor) throws SQLException, IOException {
        g.writeArrayFieldStart(key);
        long n = writeRows(g, connection, query(where), params, visitor);
        g.writeEndArray();
        return n;
    }

    /** Writes the rows of any query whose columns are {@link #selectFrom()}'s, as array elements. */
    public long writeRows(JsonGenerator g, Connection connection, String sql, List<?> params,
                          RowVisitor visitor) throws SQLException, IOException {
        try (PreparedStatement ps = prepare(connection, sql, params); ResultSet rs = ps.executeQuery()) {
            long n = 0;
            while (rs.next()) {
                writeRow(g, rs);
                n++;
                if (visitor != null) {
                    visitor.visit(rs);
                }
            }
            return n;
        }
    }

    /** Writes the current row of {@code rs} (selected by {@link #selectFrom()}) as one object. */
    public void writeRow(JsonGenerator g, ResultSet rs) throws SQLException, IOException {
        writeRow(g, rs, null);
    }

    /**
     * Writes the current row of {@code rs} as one object, then lets {@code extra} add fields
     * computed outside the database before the object closes (e.g. the assembler's
     * {@code zerver_attachment.messages}, cut down to the exported messages).
     */
    public void writeRow(JsonGenerator g, ResultSet rs, ExtraFields extra) throws SQLException, IOException {
        g.writeStartObject();
        for (int i = 0; i < fields.size(); i++) {
            Field f = fields.get(i);
            g.writeFieldName(f.key());
            writeValue(g, rs, i + 1, f.kind());
        }
        if (extra != null) {
            extra.write(g);
        }
        g.writeEndObject();
    }

    /** Fields appended to a row by {@link #writeRow(JsonGenerator, ResultSet, ExtraFields)}. */
    @FunctionalInterface
    public interface ExtraFields {
        void write(JsonGenerator g) throws IOException;
    }

    /** A prepared statement for streaming: forward-only, fetch size {@link #FETCH_SIZE}. */
    public static PreparedStatement prepare(Connection connection, String sql, List<?> params)
            throws SQLException {
        PreparedStatement ps = connection.prepareStatement(sql, ResultSet.TYPE_FORWARD_ONLY,
                ResultSet.CONCUR_READ_ONLY);
        ps.setFetchSize(FETCH_SIZE);
        if (params != null) {
            for (int i = 0; i < params.size(); i++) {
                Object p = params.get(i);
                if (p instanceof Collection<?> c) {
                    ps.setArray(i + 1, connection.createArrayOf("bigint", c.toArray()));
                } else {
                    ps.setObject(i + 1, p);
                }
            }
        }
        return ps;
    }

    /** A double-quoted SQL identifier. */
    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    /**
     * Zulip's float epoch seconds as a plain decimal: microseconds kept, trailing zeros dropped,
     * {@code .0} when whole ({@code 1700000000.5}, {@code 1700000000.0}).
     */
    public static String epochSeconds(Instant instant) {
        long seconds = instant.getEpochSecond();
        int nanos = instant.getNano();
        if (seconds >= 0) {
            // the common case, once per timestamp of every row: digits without BigDecimal
            if (nanos == 0) {
                return seconds + ".0";
            }
            int scale = 9;
            while (nanos % 10 == 0) {
                nanos /= 10;
                scale--;
            }
            String fraction = Integer.toString(nanos);
            return seconds + "." + "0".repeat(scale - fraction.length()) + fraction;
        }
        String s = BigDecimal.valueOf(seconds)
                .add(BigDecimal.valueOf(nanos, 9))
                .stripTrailingZeros().toPlainString();
        return s.indexOf('.') < 0 ? s + ".0" : s;
    }

    /** Called after each row is written, with the result set still on that row. */
    @FunctionalInterface
    public interface RowVisitor {
        void visit(ResultSet rs) throws SQLException;
    }

    private enum Kind {
        BOOL, INT, LONG, DOUBLE, DECIMAL, TIMESTAMPTZ, TIMESTAMP, JSON, ARRAY, BYTES, UTF8_TEXT, TEXT;

        static Kind of(String sqlType) {
            if (sqlType.startsWith("_")) {
                return ARRAY;
            }
            return switch (sqlType) {
                case "bool" -> BOOL;
                case "int2", "int4" -> INT;
                case "int8", "oid" -> LONG;
                case "float4", "float8" -> DOUBLE;
                case "numeric" -> DECIMAL;
                case "timestamptz" -> TIMESTAMPTZ;
                case "timestamp" -> TIMESTAMP;
                case "json", "jsonb" -> JSON;
                case "bytea" -> BYTES;
                case "text", "varchar" -> UTF8_TEXT;
                default -> TEXT; // text, varchar, uuid, date, inet, tsvector ...: PostgreSQL's text form
            };
        }
    }

    private static void writeValue(JsonGenerator g, ResultSet rs, int i, Kind kind)
            throws SQLException, IOException {
        switch (kind) {
            case BOOL -> {
                boolean b = rs.getBoolean(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeBoolean(b);
                }
            }
            case INT -> {
                int v = rs.getInt(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
            case LONG -> {
                long v = rs.getLong(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
            case DOUBLE -> {
                double v = rs.getDouble(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
            case DECIMAL -> {
                BigDecimal v = rs.getBigDecimal(i);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
            case TIMESTAMPTZ -> {
                OffsetDateTime v = rs.getObject(i, OffsetDateTime.class);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeNumber(epochSeconds(v.toInstant()));
                }
            }
            case TIMESTAMP -> {
                // a naive datetime: Zulip stores UTC
                LocalDateTime v = rs.getObject(i, LocalDateTime.class);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeNumber(epochSeconds(v.toInstant(ZoneOffset.UTC)));
                }
            }
            case JSON -> {
                String v = rs.getString(i);
                if (v == null) {
                    g.writeNull();
                } else {
                    try (JsonParser p = Json.FACTORY.createParser(v)) {
                        p.nextToken();
                        g.copyCurrentStructure(p);
                    }
                }
            }
            case ARRAY -> {
                Array v = rs.getArray(i);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeStartArray();
                    for (Object element : (Object[]) v.getArray()) {
                        writeScalar(g, element);
                    }
                    g.writeEndArray();
                    v.free();
                }
            }
            case BYTES -> {
                byte[] v = rs.getBytes(i);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeBinary(v);
                }
            }
            case UTF8_TEXT -> {
                // pgjdbc receives text columns as UTF-8 (it fixes client_encoding) and getBytes hands
                // them over as received: written as they are, the message texts (most of an export's
                // bytes) are not decoded into Strings only to be encoded back. The same bytes out.
                byte[] v = rs.getBytes(i);
                if (v == null) {
                    g.writeNull();
                } else if (g instanceof UTF8JsonGenerator) {
                    g.writeUTF8String(v, 0, v.length);
                } else {
                    g.writeString(new String(v, StandardCharsets.UTF_8));
                }
            }
            case TEXT -> {
                String v = rs.getString(i);
                if (v == null) {
                    g.writeNull();
                } else {
                    g.writeString(v);
                }
            }
        }
    }

    /** Writes one JDBC value as JSON: numbers as numbers, timestamps as float epoch seconds, else text. */
    public static void writeScalar(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof Long l) {
            g.writeNumber(l);
        } else if (v instanceof Integer n) {
            g.writeNumber(n);
        } else if (v instanceof Short n) {
            g.writeNumber(n);
        } else if (v instanceof BigDecimal d) {
            g.writeNumber(d);
        } else if (v instanceof Double d) {
            g.writeNumber(d);
        } else if (v instanceof Float f) {
            g.writeNumber(f);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof java.sql.Timestamp ts) {
            g.writeNumber(epochSeconds(ts.toInstant()));
        } else {
            g.writeString(v.toString());
        }
    }
}
