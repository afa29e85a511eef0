package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.storage.StoredFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Copies the files of an export from Zulip's local uploads directory ({@code LOCAL_UPLOADS_DIR})
 * and writes each category's {@code records.json}, following zerver/lib/export.py
 * ({@code export_uploads_from_local}, {@code export_avatars_from_local},
 * {@code export_emoji_from_local}, {@code export_realm_icons}):
 * <pre>
 * uploads dir                                       export
 * files/&lt;path_id&gt;                                    uploads/&lt;path_id&gt;
 * avatars/&lt;realm&gt;/&lt;hash&gt;.*  (hash of user id)        avatars/&lt;realm&gt;/&lt;hash&gt;.*
 * avatars/&lt;realm&gt;/emoji/images/&lt;file&gt;[.original]    emoji/&lt;realm&gt;/emoji/images/&lt;file&gt;[.original]
 * avatars/&lt;realm&gt;/realm/&lt;file&gt;                       realm_icons/&lt;realm&gt;/&lt;file&gt;
 * </pre>
 * Records are sorted by path, as Zulip writes them. One category's records are in memory at a
 * time: bounded by the realm's attachments, users, emoji.
 *
 * <p>A file the realm refers to but that is not there (an attachment's upload, the avatar of a
 * user whose avatar_source is 'U', an emoji's image, an uploaded realm icon or logo) is collected
 * in {@link MissingFiles}; the caller decides whether that fails the export.
 */
final class MediaExporter {
    static final List<String> CATEGORIES = List.of("avatars", "uploads", "emoji", "realm_icons");

    private final Connection connection;
    private final SchemaCatalog catalog;
    private final Path uploadsDir;
    private final String avatarSalt;
    private final ExportOutput out;
    private final long realmId;
    private final MissingFiles missing = new MissingFiles();

    MediaExporter(Connection connection, SchemaCatalog catalog, Path uploadsDir, String avatarSalt,
                  ExportOutput out, long realmId) {
        this.connection = connection;
        this.catalog = catalog;
        this.uploadsDir = uploadsDir;
        this.avatarSalt = avatarSalt;
        this.out = out;
        this.realmId = realmId;
    }

    /** Copies everything; returns the number of records per category ({@code uploads_records} ...). */
    Map<String, Long> exportAll(List<AttachmentExporter.Exported> attachments)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("avatars", avatars());
        counts.put("uploads", uploads(attachments));
        counts.put("emoji", emoji());
        counts.put("realm_icons", realmIcons());
        return counts;
    }

    /** The referenced files that were not found, after {@link #exportAll}. */
    MissingFiles missing() {
        return missing;
    }

    /** Notes why nothing could be found when the uploads directory is not configured. */
    private boolean noUploadsDir() {
        if (uploadsDir == null) {
            missing.cause(RealmExportConfig.UPLOADS_DIR + " is not set: set it to Zulip's LOCAL_UPLOADS_DIR");
            return true;
        }
        return false;
    }

    long uploads(List<AttachmentExporter.Exported> attachments)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        boolean noDir = !attachments.isEmpty() && noUploadsDir();
        Map<Long, String> emails = emails(attachments.stream().map(AttachmentExporter.Exported::ownerId).toList());
        for (AttachmentExporter.Exported a : attachments) {
            checkInterrupted();
            Path source = noDir ? null : uploadsDir.resolve("files").resolve(a.pathId());
            if (source == null || !Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
                missing.add(new MissingFiles.Missing("uploads", "files/" + a.pathId(), "attachment_id", a.id(),
                        "attachment " + a.id()));
                continue;
            }
            Copied copied = copy(source, "uploads/" + a.pathId());
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("realm_id", a.realmId());
            record.put("user_profile_id", a.ownerId());
            record.put("user_profile_email", emails.get(a.ownerId()));
            record.put("s3_path", a.pathId());
            record.put("path", a.pathId());
            record.put("size", copied.size());
            record.put("last_modified", copied.lastModified());
            record.put("content_type", null);
            records.add(record);
        }
        return writeRecords("uploads", records);
    }

    long avatars() throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        Path realmAvatars = uploadsDir == null ? null : uploadsDir.resolve("avatars").resolve(Long.toString(realmId));
        // files of the realm's avatar directory by name stem ("<hash>" of "<hash>.png", "<hash>.original")
        Map<String, List<String>> byStem = new HashMap<>();
        if (realmAvatars != null && Files.isDirectory(realmAvatars)) {
            for (Path f : list(realmAvatars)) {
                String name = f.getFileName().toString();
                int dot = name.indexOf('.');
                if (dot > 0) {
                    byStem.computeIfAbsent(name.substring(0, dot), k -> new ArrayList<>()).add(name);
                }
            }
        }
        SchemaCatalog.Table users = catalog.require("zerver_userprofile");
        String version = users.hasColumn("avatar_version") ? "avatar_version" : "1";
        String sql = "SELECT id, email, avatar_source, " + version + " FROM zerver_userprofile"
                + " WHERE realm_id = ? ORDER BY id";
        try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql, List.of(realmId));
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                if ("G".equals(rs.getString(3))) {
                    continue; // Gravatar: no file
                }
                long userId = rs.getLong(1);
                int avatarVersion = rs.getInt(4);
                String owner = "the avatar of user " + userId + " (" + rs.getString(2) + ")";
                noUploadsDir();
                if (avatarSalt == null) {
                    missing.cause(ExportAssemblerConfig.AVATAR_SALT + " is not set, and avatar files are named by it:"
                            + " set it to Zulip's avatar_salt secret (/etc/zulip/zulip-secrets.conf)");
                    missing.add(new MissingFiles.Missing("avatars", null, "user_profile_id", userId, owner));
                    continue;
                }
                List<String> stems = avatarStems(userId, avatarVersion, avatarSalt);
                List<String> names = new ArrayList<>();
                for (String stem : stems) {
                    names.addAll(byStem.getOrDefault(stem, List.of()));
                }
                if (names.isEmpty()) {
                    // Zulip serves <hash>.png; the .original beside it is optional
                    missing.add(new MissingFiles.Missing("avatars", "avatars/" + realmId + "/" + stems.get(0) + ".png",
                            "user_profile_id", userId, owner));
                    continue;
                }
                names.sort(Comparator.naturalOrder());
                for (String name : names) {
                    checkInterrupted();
                    String path = realmId + "/" + SafePaths.fileName(name, "avatar file name");
                    Copied copied = copy(realmAvatars.resolve(name), "avatars/" + path);
                    Map<String, Object> record = new LinkedHashMap<>();
                    record.put("realm_id", realmId);
                    record.put("user_profile_id", userId);
                    record.put("user_profile_email", rs.getString(2));
                    record.put("avatar_version", avatarVersion);
                    record.put("s3_path", path);
                    record.put("path", path);
                    record.put("size", copied.size());
                    record.put("last_modified", copied.lastModified());
                    record.put("content_type", null);
                    records.add(record);
                }
            }
        }
        return writeRecords("avatars", records);
    }

    /**
     * Name stems Zulip gives a user's avatar files: {@code sha256("<id>:<version>:<salt>")[:40]}
     * (current), or {@code sha1("<id><salt>")} (before the avatar version was part of the path).
     */
    static List<String> avatarStems(long userId, int avatarVersion, String salt) {
        MessageDigest sha256 = Sha256.digest();
        String current = HexFormat.of().formatHex(sha256.digest(
                (userId + ":" + avatarVersion + ":" + salt).getBytes(StandardCharsets.UTF_8))).substring(0, 40);
        String legacy;
        try {
            legacy = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest((userId + salt).getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return List.of(current, legacy);
    }

    long emoji() throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        if (catalog.hasTable("zerver_realmemoji")) {
            SchemaCatalog.Table t = catalog.require("zerver_realmemoji");
            String sql = "SELECT id, name, file_name, "
                    + (t.hasColumn("author_id") ? "author_id" : "NULL") + ", "
                    + (t.hasColumn("deactivated") ? "deactivated" : "false")
                    + " FROM zerver_realmemoji WHERE realm_id = ? ORDER BY id";
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql, List.of(realmId));
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    checkInterrupted();
                    String fileName = rs.getString(3);
                    if (fileName == null) {
                        continue; // an emoji without an image (never uploaded)
                    }
                    long emojiId = rs.getLong(1);
                    SafePaths.fileName(fileName, "file_name of realm emoji " + emojiId);
                    boolean noDir = noUploadsDir();
                    String path = realmId + "/emoji/images/" + fileName;
                    Long author = rs.getObject(4) == null ? null : rs.getLong(4);
                    for (String p : List.of(path, path + ".original")) {
                        Path source = noDir ? null : uploadsDir.resolve("avatars").resolve(p);
                        if (source == null || !Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
                            if (p.equals(path)) {
                                missing.add(new MissingFiles.Missing("emoji", "avatars/" + path, "realm_emoji_id",
                                        emojiId, "the image of realm emoji " + emojiId + " (" + rs.getString(2) + ")"));
                            }
                            continue; // .original exists only for emoji uploaded by recent versions
                        }
                        copy(source, "emoji/" + p);
                        Map<String, Object> record = new LinkedHashMap<>();
                        record.put("realm_id", realmId);
                        record.put("author", author);
                        record.put("path", p);
                        record.put("s3_path", p);
                        record.put("file_name", fileName);
                        record.put("name", rs.getString(2));
                        record.put("deactivated", rs.getBoolean(5));
                        records.add(record);
                    }
                }
            }
        }
        return writeRecords("emoji", records);
    }

    long realmIcons() throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        Path icons = uploadsDir == null ? null : uploadsDir.resolve("avatars").resolve(realmId + "/realm");
        for (String name : uploadedRealmImages()) {
            String file = name + ".png";
            if (icons == null || !Files.isRegularFile(icons.resolve(file), LinkOption.NOFOLLOW_LINKS)) {
                noUploadsDir();
                missing.add(new MissingFiles.Missing("realm_icons", "avatars/" + realmId + "/realm/" + file,
                        "realm_id", realmId, "the uploaded " + name.replace('_', ' ') + " of the realm"));
            }
        }
        if (icons != null && Files.isDirectory(icons)) {
            for (Path f : list(icons)) {
                checkInterrupted();
                String path = realmId + "/" + SafePaths.fileName(f.getFileName().toString(), "realm icon file name");
                copy(f, "realm_icons/" + path);
                Map<String, Object> record = new LinkedHashMap<>();
                record.put("realm_id", realmId);
                record.put("path", path);
                record.put("s3_path", path);
                records.add(record);
            }
        }
        return writeRecords("realm_icons", records);
    }

    /**
     * The realm's images its row says were uploaded (source 'U'): icon, logo, night_logo, each
     * served by Zulip as {@code <realm_id>/realm/<name>.png}.
     */
    private List<String> uploadedRealmImages() throws SQLException {
        SchemaCatalog.Table realm = catalog.require("zerver_realm");
        List<String> names = new ArrayList<>();
        for (String name : List.of("icon", "logo", "night_logo")) {
            if (!realm.hasColumn(name + "_source")) {
                continue;
            }
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection,
                    "SELECT " + name + "_source FROM zerver_realm WHERE id = ?", List.of(realmId));
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next() && "U".equals(rs.getString(1))) {
                    names.add(name);
                }
            }
        }
        return names;
    }

    private record Copied(long size, String lastModified) {
    }

    /** Copies one file into the export with its part, in one pass. */
    private Copied copy(Path source, String relativePath) throws IOException {
        String lastModified = ZulipRowWriter.epochSeconds(
                Files.getLastModifiedTime(source, LinkOption.NOFOLLOW_LINKS).toInstant());
        StoredFile.Written written;
        try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
            written = out.copy(in, relativePath);
        }
        return new Copied(written.size(), lastModified);
    }

    private long writeRecords(String category, List<Map<String, Object>> records)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        records.sort(Comparator.comparing(r -> (String) r.get("path")));
        out.writeJson(category + "/records.json", g -> {
            g.writeStartArray();
            for (Map<String, Object> record : records) {
                g.writeStartObject();
                for (Map.Entry<String, Object> e : record.entrySet()) {
                    g.writeFieldName(e.getKey());
                    writeScalar(g, e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        });
        return records.size();
    }

    private static void writeScalar(JsonGenerator g, String key, Object v) throws IOException {
        if (key.equals("last_modified") && v instanceof String text) {
            g.writeNumber(text); // float epoch seconds, as its exact text
        } else {
            ZulipRowWriter.writeScalar(g, v);
        }
    }

    private Map<Long, String> emails(List<Long> userIds) throws SQLException {
        Map<Long, String> emails = new TreeMap<>();
        if (userIds.isEmpty()) {
            return emails;
        }
        try (PreparedStatement ps = ZulipRowWriter.prepare(connection,
                "SELECT id, email FROM zerver_userprofile WHERE id = ANY(?)",
                List.of(userIds.stream().distinct().toList()));
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                emails.put(rs.getLong(1), rs.getString(2));
            }
        }
        return emails;
    }

    /** Regular files of a directory, sorted by name (symbolic links are never followed out of it). */
    private static List<Path> list(Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(p);
                }
            }
        }
        files.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return files;
    }

    private static void checkInterrupted() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("finalizing interrupted");
        }
    }
}
