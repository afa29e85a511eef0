import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The references that bench/compare.sh measures the export against (a benchmark tool, not part of
 * the services): what one process does with nothing but JDBC and Jackson, and what PostgreSQL does
 * by itself.
 *
 * <pre>
 *   java -cp 'cli/target/lib/*:CLASSES' NaiveExport loop REALM OUT_DIR [THREADS]
 *   java -cp 'cli/target/lib/*:CLASSES' NaiveExport copy REALM OUT_DIR [THREADS]
 *   java -cp 'cli/target/lib/*:CLASSES' NaiveExport vacuum REALM OUT_DIR
 * </pre>
 *
 * {@code loop}: the realm's messages in id order, cut into files of 1000, each file
 * {@code messages-NNNNNN.json} = {"zerver_message": [...], "zerver_usermessage": [...]} with the
 * usermessages of those messages for the realm's non-dummy users; THREADS (2) threads take
 * the files in turn, one connection each. No fsync, no checksums, no Kafka: the bare cost of
 * reading the rows and writing the JSON. {@code tar -czf} of OUT_DIR is the script's part.
 *
 * <p>{@code copy}: THREADS (2) parallel {@code COPY (SELECT row_to_json(...)) TO STDOUT}, each of half
 * the realm's id range (messages, then their usermessages), into OUT_DIR/copy-K.json.
 *
 * <p>{@code vacuum}: VACUUM (FREEZE, ANALYZE) of the message tables after generating them, so that
 * every measurement reads a database as a production one is (hint bits set), not the first one.
 *
 * <p>Database from JDBC_URL (with JDBC_USER, JDBC_PASSWORD when set), as the services read it.
 * Prints the rows and files written to stderr.
 */
public final class NaiveExport {
    private static final int MESSAGES_PER_FILE = 1000;
    private static final JsonFactory JSON = new JsonFactory();

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: NaiveExport loop|copy REALM OUT_DIR [THREADS]");
            System.exit(2);
        }
        String mode = args[0];
        String realm = args[1];
        Path out = Path.of(args[2]);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        Files.createDirectories(out);
        if (mode.equals("vacuum")) {
            try (Connection c = connect()) {
                c.setReadOnly(false);
                c.setAutoCommit(true);
                try (var st = c.createStatement()) {
                    st.execute("VACUUM (FREEZE, ANALYZE) zerver_message, zerver_usermessage");
                }
            }
            return;
        }
        long realmId;
        long[] ids;
        long[] users;
        try (Connection c = connect()) {
            realmId = single(c, "SELECT id FROM zerver_realm WHERE string_id = '" + realm.replace("'", "''") + "'");
            ids = longs(c, "SELECT id FROM zerver_message WHERE realm_id = " + realmId + " ORDER BY id");
            users = longs(c, "SELECT id FROM zerver_userprofile WHERE realm_id = " + realmId
                    + " AND NOT is_mirror_dummy ORDER BY id");
        }
        long started = System.nanoTime();
        long rows = switch (mode) {
            case "loop" -> loop(realmId, ids, users, out, threads);
            case "copy" -> copy(realmId, ids, users, out, threads);
            default -> throw new IllegalArgumentException("mode must be loop or copy: " + mode);
        };
        System.err.printf("naive %s: realm %s, %d messages, %d rows in %.1f s%n", mode, realm, ids.length, rows,
                (System.nanoTime() - started) / 1e9);
    }

    private static long loop(long realmId, long[] ids, long[] users, Path out, int threads) throws Exception {
        int files = (ids.length + MESSAGES_PER_FILE - 1) / MESSAGES_PER_FILE;
        AtomicLong rows = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            done.add(pool.submit(() -> {
                try (Connection c = connect()) {
                    try (PreparedStatement messages = c.prepareStatement(
                                 "SELECT id, type, subject, content, rendered_content, rendered_content_version,"
                                         + " date_sent, last_edit_time, edit_history, has_attachment, has_image,"
                                         + " has_link, sender_id, sending_client_id, realm_id, recipient_id,"
                                         + " is_channel_message FROM zerver_message"
                                         + " WHERE realm_id = ? AND id BETWEEN ? AND ? ORDER BY id");
                         PreparedStatement userMessages = c.prepareStatement(
                                 "SELECT id, flags, message_id, user_profile_id FROM zerver_usermessage"
                                         + " WHERE message_id BETWEEN ? AND ? AND user_profile_id IN (SELECT id FROM"
                                         + " zerver_userprofile WHERE realm_id = ? AND NOT is_mirror_dummy) ORDER BY id")) {
                        messages.setFetchSize(MESSAGES_PER_FILE);
                        userMessages.setFetchSize(MESSAGES_PER_FILE);
                        for (int f = first; f < files; f += threads) {
                            long lo = ids[f * MESSAGES_PER_FILE];
                            long hi = ids[Math.min(ids.length, (f + 1) * MESSAGES_PER_FILE) - 1];
                            Path file = out.resolve(String.format("messages-%06d.json", f + 1));
                            try (OutputStream os = Files.newOutputStream(file);
                                 JsonGenerator g = JSON.createGenerator(os, JsonEncoding.UTF8)) {
                                g.writeStartObject();
                                messages.setLong(1, realmId);
                                messages.setLong(2, lo);
                                messages.setLong(3, hi);
                                rows.addAndGet(writeList(g, "zerver_message", messages));
                                userMessages.setLong(1, lo);
                                userMessages.setLong(2, hi);
                                userMessages.setLong(3, realmId);
                                rows.addAndGet(writeList(g, "zerver_usermessage", userMessages));
                                g.writeEndObject();
                            }
                        }
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> f : done) {
            f.get();
        }
        return rows.get();
    }

    private static long copy(long realmId, long[] ids, long[] users, Path out, int threads) throws Exception {
        AtomicLong rows = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        StringBuilder userList = new StringBuilder();
        for (long u : users) {
            userList.append(userList.length() == 0 ? "" : ",").append(u);
        }
        for (int t = 0; t < threads; t++) {
            long lo = ids.length == 0 ? 0 : ids[(int) ((long) ids.length * t / threads)];
            long hi = ids.length == 0 ? -1 : ids[(int) ((long) ids.length * (t + 1) / threads) - 1];
            Path file = out.resolve("copy-" + t + ".json");
            done.add(pool.submit(() -> {
                try (Connection c = connect(); OutputStream os = Files.newOutputStream(file)) {
                    org.postgresql.copy.CopyManager copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
                    rows.addAndGet(copy.copyOut("COPY (SELECT row_to_json(m) FROM zerver_message m WHERE m.realm_id = "
                            + realmId + " AND m.id BETWEEN " + lo + " AND " + hi + " ORDER BY m.id) TO STDOUT", os));
                    rows.addAndGet(copy.copyOut("COPY (SELECT row_to_json(um) FROM zerver_usermessage um"
                            + " WHERE um.message_id BETWEEN " + lo + " AND " + hi + " AND um.user_profile_id IN ("
                            + (userList.length() == 0 ? "NULL" : userList) + ") ORDER BY um.id) TO STDOUT", os));
                }
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> f : done) {
            f.get();
        }
        return rows.get();
    }

    /** "key": [rows], each row an object of its columns; timestamps as float epoch seconds, as Zulip. */
    private static long writeList(JsonGenerator g, String key, PreparedStatement ps) throws SQLException, IOException {
        long n = 0;
        g.writeArrayFieldStart(key);
        try (ResultSet rs = ps.executeQuery()) {
            ResultSetMetaData md = rs.getMetaData();
            int columns = md.getColumnCount();
            String[] names = new String[columns + 1];
            int[] types = new int[columns + 1];
            for (int i = 1; i <= columns; i++) {
                names[i] = md.getColumnLabel(i);
                types[i] = md.getColumnType(i);
            }
            while (rs.next()) {
                g.writeStartObject();
                for (int i = 1; i <= columns; i++) {
                    g.writeFieldName(names[i]);
                    switch (types[i]) {
                        case Types.SMALLINT, Types.INTEGER, Types.BIGINT -> {
                            long v = rs.getLong(i);
                            if (rs.wasNull()) {
                                g.writeNull();
                            } else {
                                g.writeNumber(v);
                            }
                        }
                        case Types.BOOLEAN, Types.BIT -> {
                            boolean v = rs.getBoolean(i);
                            if (rs.wasNull()) {
                                g.writeNull();
                            } else {
                                g.writeBoolean(v);
                            }
                        }
                        case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> {
                            Timestamp v = rs.getTimestamp(i);
                            if (v == null) {
                                g.writeNull();
                            } else {
                                g.writeNumber(v.getTime() / 1000.0 + (v.getNanos() % 1_000_000) / 1e9);
                            }
                        }
                        default -> {
                            String v = rs.getString(i);
                            if (v == null) {
                                g.writeNull();
                            } else {
                                g.writeString(v);
                            }
                        }
                    }
                }
                g.writeEndObject();
                n++;
            }
        }
        g.writeEndArray();
        return n;
    }

    private static Connection connect() throws SQLException {
        Properties p = new Properties();
        String user = System.getenv("JDBC_USER");
        String password = System.getenv("JDBC_PASSWORD");
        if (user != null && !user.isEmpty()) {
            p.setProperty("user", user);
        }
        if (password != null && !password.isEmpty()) {
            p.setProperty("password", password);
        }
        String url = System.getenv("JDBC_URL");
        if (url == null || url.isEmpty()) {
            throw new IllegalStateException("JDBC_URL is not set");
        }
        Connection c = DriverManager.getConnection(url, p);
        c.setAutoCommit(false); // pgjdbc streams by the fetch size only outside auto-commit
        c.setReadOnly(true);
        return c;
    }

    private static long single(Connection c, String sql) throws SQLException {
        long[] v = longs(c, sql);
        if (v.length != 1) {
            throw new IllegalStateException("expected one row from: " + sql);
        }
        return v[0];
    }

    private static long[] longs(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setFetchSize(100_000);
            try (ResultSet rs = ps.executeQuery()) {
                long[] out = new long[1024];
                int n = 0;
                while (rs.next()) {
                    if (n == out.length) {
                        out = java.util.Arrays.copyOf(out, n * 2);
                    }
                    out[n++] = rs.getLong(1);
                }
                return java.util.Arrays.copyOf(out, n);
            }
        }
    }
}
