package org.realmexport.localstack.generator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Fingerprints of what a generation left behind: per-table row checksums and the upload file tree. */
final class DatabaseSnapshot {
    private DatabaseSnapshot() {
    }

    /** For every table of the Zulip schema: "rows:md5 of all rows as text, in text order". */
    static SortedMap<String, String> tableChecksums(Connection c) throws SQLException {
        SortedMap<String, String> sums = new TreeMap<>();
        try (Statement st = c.createStatement()) {
            for (String table : ZulipSchema.tableNames()) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                        + " FROM " + table + " t")) {
                    rs.next();
                    sums.put(table, rs.getLong(1) + ":" + rs.getString(2));
                }
            }
        }
        return sums;
    }

    /** Relative path -> "size:sha256" of every regular file under {@code dir}. */
    static SortedMap<String, String> fileTree(Path dir) {
        SortedMap<String, String> tree = new TreeMap<>();
        if (!Files.exists(dir)) {
            return tree;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                tree.put(dir.relativize(p).toString(), Files.size(p) + ":" + sha256(p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return tree;
    }

    /** Every path (files and directories) under {@code dir}. */
    static SortedMap<String, Boolean> paths(Path dir) {
        SortedMap<String, Boolean> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> !p.equals(dir)).forEach(p -> out.put(dir.relativize(p).toString(), Files.isDirectory(p)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String text(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
