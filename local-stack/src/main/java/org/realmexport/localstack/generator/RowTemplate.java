package org.realmexport.localstack.generator;

import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A wide table's columns with a default value for each (already in COPY text form), so a row only
 * states what differs from a freshly created Zulip object. Used for the ~90-column tables
 * (zerver_realm, zerver_userprofile, zerver_realmuserdefault) and zerver_stream.
 */
final class RowTemplate {
    final String table;
    final List<String> columns;
    private final String[] defaults;
    private final Map<String, Integer> index = new TreeMap<>();

    private RowTemplate(String table, String[] columns, String[] defaults) {
        this.table = table;
        this.columns = List.of(columns);
        this.defaults = defaults;
        for (int i = 0; i < columns.length; i++) {
            index.put(columns[i], i);
        }
    }

    /** {@code pairs}: column, default, column, default... ("\\N" is NULL). */
    static RowTemplate of(String table, String... pairs) {
        String[] columns = new String[pairs.length / 2];
        String[] defaults = new String[pairs.length / 2];
        for (int i = 0; i < columns.length; i++) {
            columns[i] = pairs[2 * i];
            defaults[i] = pairs[2 * i + 1];
        }
        return new RowTemplate(table, columns, defaults);
    }

    Row row() {
        return new Row(defaults.clone());
    }

    final class Row {
        private final String[] values;

        private Row(String[] values) {
            this.values = values;
        }

        private int at(String column) {
            Integer i = index.get(column);
            if (i == null) {
                throw new IllegalArgumentException(table + " has no column " + column);
            }
            return i;
        }

        Row text(String column, String value) {
            values[at(column)] = value == null ? "\\N" : CopyStream.escape(value);
            return this;
        }

        Row num(String column, long value) {
            values[at(column)] = Long.toString(value);
            return this;
        }

        /** A nullable id: 0 means NULL. */
        Row ref(String column, long id) {
            values[at(column)] = id == 0 ? "\\N" : Long.toString(id);
            return this;
        }

        Row bool(String column, boolean value) {
            values[at(column)] = value ? "t" : "f";
            return this;
        }

        Row ts(String column, long epochMicros) {
            values[at(column)] = PgTime.text(epochMicros);
            return this;
        }

        Row nul(String column) {
            values[at(column)] = "\\N";
            return this;
        }

        void write(CopyStream out) throws SQLException {
            for (String v : values) {
                out.raw(v);
            }
            out.endRow();
        }

        @Override
        public String toString() {
            return table + Arrays.toString(values);
        }
    }
}
