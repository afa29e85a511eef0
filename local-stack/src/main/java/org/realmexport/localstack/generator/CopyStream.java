package org.realmexport.localstack.generator;

import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One {@code COPY table (columns) FROM STDIN} in PostgreSQL's text format, fed row by row from a
 * reusable byte buffer: rows are encoded straight into bytes (no String per row, no whole table in
 * memory) and shipped to the server every megabyte.
 */
final class CopyStream implements AutoCloseable {
    private static final int FLUSH_AT = 1 << 20;

    private final String table;
    private final CopyIn copyIn;
    private byte[] buf = new byte[FLUSH_AT + (64 << 10)];
    private int pos;
    private boolean rowStarted;
    private long rows;
    private boolean finished;

    private CopyStream(String table, CopyIn copyIn) {
        this.table = table;
        this.copyIn = copyIn;
    }

    static CopyStream open(CopyManager copyManager, String table, List<String> columns) throws SQLException {
        String columnList = columns.stream().map(c -> '"' + c + '"').collect(Collectors.joining(", "));
        return new CopyStream(table, copyManager.copyIn("COPY " + table + " (" + columnList + ") FROM STDIN"));
    }

    String table() {
        return table;
    }

    long rows() {
        return rows;
    }

    CopyStream num(long value) throws SQLException {
        separator();
        ensure(20);
        if (value == Long.MIN_VALUE) {
            putAscii(Long.toString(value));
            return this;
        }
        if (value < 0) {
            buf[pos++] = '-';
            value = -value;
        }
        putDigits(value, 0);
        return this;
    }

    /** A nullable foreign key or count: 0 and negatives mean NULL for ids, so use explicitly. */
    CopyStream numOrNull(long value, boolean isNull) throws SQLException {
        return isNull ? nul() : num(value);
    }

    CopyStream bool(boolean value) throws SQLException {
        separator();
        ensure(1);
        buf[pos++] = (byte) (value ? 't' : 'f');
        return this;
    }

    CopyStream nul() throws SQLException {
        separator();
        ensure(2);
        buf[pos++] = '\\';
        buf[pos++] = 'N';
        return this;
    }

    CopyStream text(CharSequence value) throws SQLException {
        separator();
        if (value == null) {
            ensure(2);
            buf[pos++] = '\\';
            buf[pos++] = 'N';
            return this;
        }
        int n = value.length();
        boolean ascii = true;
        for (int i = 0; i < n; i++) {
            if (value.charAt(i) >= 0x80) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            ensure(2 * n);
            for (int i = 0; i < n; i++) {
                putEscaped((byte) value.charAt(i));
            }
        } else {
            byte[] utf8 = value.toString().getBytes(StandardCharsets.UTF_8);
            ensure(2 * utf8.length);
            for (byte b : utf8) {
                putEscaped(b);
            }
        }
        return this;
    }

    /** {@code value} in COPY text form (backslash, newline, carriage return and tab escaped). */
    static String escape(String value) {
        StringBuilder sb = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            String esc = switch (c) {
                case '\\' -> "\\\\";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> null;
            };
            if (esc != null && sb == null) {
                sb = new StringBuilder(value.length() + 8).append(value, 0, i);
            }
            if (sb != null) {
                if (esc != null) {
                    sb.append(esc);
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? value : sb.toString();
    }

    /** Text that is known to need no escaping (pre-encoded template values, identifiers). */
    CopyStream raw(String encoded) throws SQLException {
        separator();
        byte[] utf8 = encoded.getBytes(StandardCharsets.UTF_8);
        ensure(utf8.length);
        System.arraycopy(utf8, 0, buf, pos, utf8.length);
        pos += utf8.length;
        return this;
    }

    /** A timestamptz given in microseconds since the epoch, written in UTC. */
    CopyStream ts(long epochMicros) throws SQLException {
        separator();
        ensure(32);
        pos = PgTime.format(epochMicros, buf, pos);
        return this;
    }

    CopyStream tsOrNull(long epochMicros, boolean isNull) throws SQLException {
        return isNull ? nul() : ts(epochMicros);
    }

    void endRow() throws SQLException {
        ensure(1);
        buf[pos++] = '\n';
        rowStarted = false;
        rows++;
        if (pos >= FLUSH_AT) {
            flush();
        }
    }

    /** Sends what is left and ends the COPY; returns the row count the server reports. */
    long finish() throws SQLException {
        flush();
        finished = true;
        long reported = copyIn.endCopy();
        if (reported != rows) {
            throw new SQLException("COPY " + table + ": server stored " + reported + " rows, sent " + rows);
        }
        return rows;
    }

    @Override
    public void close() throws SQLException {
        if (!finished && copyIn.isActive()) {
            copyIn.cancelCopy();
        }
    }

    private void separator() throws SQLException {
        if (rowStarted) {
            ensure(1);
            buf[pos++] = '\t';
        } else {
            rowStarted = true;
        }
    }

    private void putEscaped(byte b) {
        switch (b) {
            case '\\' -> {
                buf[pos++] = '\\';
                buf[pos++] = '\\';
            }
            case '\n' -> {
                buf[pos++] = '\\';
                buf[pos++] = 'n';
            }
            case '\r' -> {
                buf[pos++] = '\\';
                buf[pos++] = 'r';
            }
            case '\t' -> {
                buf[pos++] = '\\';
                buf[pos++] = 't';
            }
            default -> buf[pos++] = b;
        }
    }

    private void putAscii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            buf[pos++] = (byte) s.charAt(i);
        }
    }

    private void putDigits(long value, int minWidth) {
        int start = pos;
        do {
            buf[pos++] = (byte) ('0' + (value % 10));
            value /= 10;
        } while (value != 0 || pos - start < minWidth);
        for (int i = start, j = pos - 1; i < j; i++, j--) {
            byte t = buf[i];
            buf[i] = buf[j];
            buf[j] = t;
        }
    }

    private void ensure(int bytes) throws SQLException {
        if (pos + bytes <= buf.length) {
            return;
        }
        flush();
        if (bytes > buf.length) {
            buf = new byte[bytes + (64 << 10)];
        }
    }

    private void flush() throws SQLException {
        if (pos > 0) {
            copyIn.writeToCopy(buf, 0, pos);
            pos = 0;
        }
    }
}
