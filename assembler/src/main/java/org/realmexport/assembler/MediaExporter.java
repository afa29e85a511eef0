package org.realmexport.assembler;

import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.upload.UploadSource;
import org.realmexport.common.storage.upload.UploadSource.Area;
import org.realmexport.common.storage.upload.UploadSource.UploadObject;
import org.realmexport.common.storage.upload.UploadSources;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Copies the files of an export from the server's {@link UploadSource} and writes each category's
 * {@code records.json}, following Zulip's export.py ({@code export_uploads_from_local},
 * {@code export_avatars_from_local}, {@code export_emoji_from_local}, {@code export_realm_icons},
 * and for S3 {@code export_files_from_s3}):
 * <pre>
 * source key (area)                                   export
 * &lt;path_id&gt; (uploads)                                  uploads/&lt;path_id&gt;
 * &lt;realm&gt;/&lt;hash&gt;[.*] (avatars; hash of user id)         avatars/&lt;realm&gt;/&lt;hash&gt;[.*]
 * &lt;realm&gt;/emoji/images/&lt;file&gt;[.original] (avatars)      emoji/&lt;realm&gt;/emoji/images/&lt;file&gt;[.original]
 * &lt;realm&gt;/realm/&lt;file&gt; (avatars)                       realm_icons/&lt;realm&gt;/&lt;file&gt; (local),
 *                                                     realm_icons/&lt;realm&gt;/realm/&lt;file&gt; (S3, as Zulip)
 * </pre>
 * Records are sorted by path, as Zulip writes them; from S3 they carry Zulip's S3 fields
 * ({@code s3_path, bucket, size, last_modified, content_type, md5} and the object's metadata).
 * One category's listing and records are in memory at a time: bounded by one realm's files.
 *
 * <p>A file the realm refers to but that is not there (an attachment's upload, the avatar of a
 * user whose avatar_source is 'U', an emoji's image, an uploaded realm icon or logo) is collected
 * in {@link MissingFiles}; the caller decides whether that fails the export. An S3 object without
 * Zulip's {@code realm_id} or {@code user_profile_id} metadata, or of another realm (files the
 * email gateway bot uploaded excepted), fails the export naming its key: its owner cannot be
 * told, and an import would attach it to the wrong realm.
 */
final class MediaExporter {
    static final List<String> CATEGORIES = List.of("avatars", "uploads", "emoji", "realm_icons");

    /** How boto3 and orjson write an S3 object's last_modified in Zulip's records.json. */
    private static final DateTimeFormatter S3_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'+00:00'")
            .withZone(ZoneOffset.UTC);
    /** Metadata Zulip writes as numbers in records.json. */
    private static final Set<String> INTEGER_METADATA = Set.of("realm_id", "user_profile_id", "avatar_version");

    private final Connection connection;
    private final SchemaCatalog catalog;
    private final UploadSource source;
    private final String avatarSalt;
    private final ExportOutput out;
    private final long realmId;
    private final MissingFiles missing = new MissingFiles();
    private Map<Long, String> emails;
    private Long emailGatewayBotId;

    /** @param source where the server keeps its uploads, or null when none is configured */
    MediaExporter(Connection connection, SchemaCatalog catalog, UploadSource source, String avatarSalt,
                  ExportOutput out, long realmId) {
        this.connection = connection;
        this.catalog = catalog;
        this.source = source;
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

    /** Notes why nothing could be found when no uploads source is configured. */
    private boolean noSource() {
        if (source == null) {
            missing.cause(UploadSources.describe(null) + ": set " + RealmExportConfig.UPLOADS_DIR
                    + " to Zulip's LOCAL_UPLOADS_DIR, or " + RealmExportConfig.S3_UPLOADS_BUCKET + " and "
                    + RealmExportConfig.S3_AVATAR_BUCKET + " to its S3 buckets");
            return true;
        }
        return false;
    }

    private SortedMap<String, UploadObject> list(Area area, String prefix) throws IOException {
        return source == null ? new TreeMap<>() : source.list(area, prefix);
    }

    long uploads(List<AttachmentExporter.Exported> attachments)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        if (!attachments.isEmpty()) {
            noSource();
        }
        // Zulip lists the realm's prefix: an attachment stored under another realm's is not found
        SortedMap<String, UploadObject> listing = attachments.isEmpty() ? new TreeMap<>()
                : list(Area.UPLOADS, realmId + "/");
        for (AttachmentExporter.Exported a : attachments) {
            checkInterrupted();
            UploadObject object = listing.get(a.pathId());
            if (object == null) {
                missing.add(new MissingFiles.Missing("uploads", "files/" + a.pathId(), "attachment_id", a.id(),
                        "attachment " + a.id()));
                continue;
            }
            if (source.isS3()) {
                records.add(copyFromS3(Area.UPLOADS, object, "uploads/" + a.pathId(), false));
                continue;
            }
            copy(Area.UPLOADS, object, "uploads/" + a.pathId());
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("realm_id", a.realmId());
            record.put("user_profile_id", a.ownerId());
            record.put("user_profile_email", email(a.ownerId()));
            record.put("s3_path", a.pathId());
            record.put("path", a.pathId());
            record.put("size", object.size());
            record.put("last_modified", localTime(object));
            record.put("content_type", null);
            records.add(record);
        }
        return writeRecords("uploads", records);
    }

    long avatars() throws IOException, SQLException, ExportAnomaly, InterruptedException {
        List<Map<String, Object>> records = new ArrayList<>();
        String prefix = realmId + "/";
        // the realm's avatar files: keys directly under <realm>/ (emoji/ and realm/ are deeper)
        SortedMap<String, UploadObject> listing = new TreeMap<>();
        list(Area.AVATARS, prefix).forEach((key, object) -> {
            if (key.indexOf('/', prefix.length()) < 0) {
                listing.put(key, object);
            }
        });
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
                noSource();
                if (avatarSalt == null) {
                    missing.cause(ExportAssemblerConfig.AVATAR_SALT + " is not set, and avatar files are named by it:"
                            + " set it to Zulip's avatar_salt secret (/etc/zulip/zulip-secrets.conf)");
                    missing.add(new MissingFiles.Missing("avatars", null, "user_profile_id", userId, owner));
                    continue;
                }
                List<UploadObject> files = new ArrayList<>();
                List<String> stems = avatarStems(userId, avatarVersion, avatarSalt);
                for (String stem : stems) {
                    // <hash> (S3's resized image), <hash>.png (local), <hash>.original; never <hash>-medium.png
                    String base = prefix + stem;
                    listing.subMap(base, base + Character.MAX_VALUE).forEach((key, object) -> {
                        if (key.equals(base) || key.startsWith(base + ".")) {
                            files.add(object);
                        }
                    });
                }
                if (files.isEmpty()) {
                    missing.add(new MissingFiles.Missing("avatars", "avatars/" + prefix + stems.get(0)
                            + (source != null && source.isS3() ? "" : ".png"), "user_profile_id", userId, owner));
                    continue;
                }
                for (UploadObject object : files) {
                    checkInterrupted();
                    String path = SafePaths.relative(object.key(), "avatar key");
                    if (source.isS3()) {
                        records.add(copyFromS3(Area.AVATARS, object, "avatars/" + path, false));
                        continue;
                    }
                    copy(Area.AVATARS, object, "avatars/" + path);
                    Map<String, Object> record = new LinkedHashMap<>();
                    record.put("realm_id", realmId);
                    record.put("user_profile_id", userId);
                    record.put("user_profile_email", rs.getString(2));
                    record.put("avatar_version", avatarVersion);
                    record.put("s3_path", path);
                    record.put("path", path);
                    record.put("size", object.size());
                    record.put("last_modified", localTime(object));
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
            SortedMap<String, UploadObject> listing = null;
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
                    noSource();
                    if (listing == null) {
                        listing = list(Area.AVATARS, realmId + "/emoji/images/");
                    }
                    String path = realmId + "/emoji/images/" + fileName;
                    Long author = rs.getObject(4) == null ? null : rs.getLong(4);
                    for (String p : List.of(path, path + ".original")) {
                        UploadObject object = listing.get(p);
                        if (object == null) {
                            if (p.equals(path)) {
                                missing.add(new MissingFiles.Missing("emoji", "avatars/" + path, "realm_emoji_id",
                                        emojiId, "the image of realm emoji " + emojiId + " (" + rs.getString(2) + ")"));
                            }
                            continue; // .original exists only for emoji uploaded by recent versions
                        }
                        if (source.isS3()) {
                            records.add(copyFromS3(Area.AVATARS, object, "emoji/" + p, true));
                            continue;
                        }
                        copy(Area.AVATARS, object, "emoji/" + p);
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
        String prefix = realmId + "/realm/";
        SortedMap<String, UploadObject> listing = list(Area.AVATARS, prefix);
        for (String name : uploadedRealmImages()) {
            String file = name + ".png";
            if (!listing.containsKey(prefix + file)) {
                noSource();
                missing.add(new MissingFiles.Missing("realm_icons", "avatars/" + prefix + file,
                        "realm_id", realmId, "the uploaded " + name.replace('_', ' ') + " of the realm"));
            }
        }
        for (UploadObject object : listing.values()) {
            checkInterrupted();
            String fileName = SafePaths.fileName(object.key().substring(prefix.length()), "realm icon file name");
            if (source.isS3()) {
                records.add(copyFromS3(Area.AVATARS, object, "realm_icons/" + object.key(), false));
                continue;
            }
            String path = realmId + "/" + fileName;
            copy(Area.AVATARS, object, "realm_icons/" + path);
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("realm_id", realmId);
            record.put("path", path);
            record.put("s3_path", path);
            records.add(record);
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

    /** Copies one file into the export with its part, in one pass. */
    private void copy(Area area, UploadObject object, String relativePath) throws IOException {
        try (UploadSource.Download download = source.open(area, object.key())) {
            out.copy(download.in(), relativePath);
        }
    }

    /**
     * Copies one S3 object and returns its record as Zulip's {@code _get_exported_s3_record}
     * makes it: the S3 fields, the object's metadata (ids as numbers), the owner's email, the path.
     */
    private Map<String, Object> copyFromS3(Area area, UploadObject object, String relativePath, boolean emoji)
            throws IOException, SQLException, ExportAnomaly {
        String where = "s3://" + source.where(area) + "/" + object.key();
        SafePaths.relative(object.key(), "the key of " + where);
        Map<String, Object> record = new LinkedHashMap<>();
        try (UploadSource.Download download = source.open(area, object.key())) {
            Map<String, String> metadata = download.metadata();
            checkMetadata(where, metadata);
            out.copy(download.in(), relativePath);
            record.put("s3_path", object.key());
            record.put("bucket", source.where(area));
            record.put("size", object.size());
            record.put("last_modified", object.lastModified() == null ? null : S3_TIME.format(object.lastModified()));
            record.put("content_type", download.contentType());
            record.put("md5", object.etag());
            metadata.forEach((k, v) -> record.put(k, INTEGER_METADATA.contains(k) ? Long.valueOf(v) : v));
        }
        if (emoji) {
            String name = object.key().substring(object.key().lastIndexOf('/') + 1);
            record.put("file_name", name.endsWith(".original") ? name.substring(0, name.length() - 9) : name);
        }
        record.put("user_profile_email", email((Long) record.get("user_profile_id")));
        record.put("path", object.key());
        return record;
    }

    /** Zulip's checks of an object's metadata (export_files_from_s3), failing with the key instead of crashing. */
    private void checkMetadata(String where, Map<String, String> metadata) throws ExportAnomaly, SQLException {
        for (String key : List.of("realm_id", "user_profile_id")) {
            String value = metadata.get(key);
            if (value == null) {
                throw new ExportAnomaly(where + " has no " + key + " metadata (Zulip's upload code sets realm_id and"
                        + " user_profile_id on every object); set it on the object, or remove the object");
            }
            if (!value.matches("\\d{1,18}")) {
                throw new ExportAnomaly(where + " has the " + key + " metadata '" + value + "', not an id");
            }
        }
        if (Long.parseLong(metadata.get("realm_id")) != realmId
                && !Long.valueOf(metadata.get("user_profile_id")).equals(emailGatewayBot())) {
            throw new ExportAnomaly(where + " is under realm " + realmId + "'s prefix but its metadata says realm_id "
                    + metadata.get("realm_id") + " (user_profile_id " + metadata.get("user_profile_id")
                    + "); only the email gateway bot uploads across realms: fix the object's metadata");
        }
    }

    /** The email gateway bot of the system-bot realm: its uploads may carry another realm's id. */
    private Long emailGatewayBot() throws SQLException {
        if (emailGatewayBotId == null) {
            emailGatewayBotId = -1L;
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT id FROM zerver_userprofile WHERE email LIKE 'emailgateway@%' AND is_bot ORDER BY id LIMIT 1");
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    emailGatewayBotId = rs.getLong(1);
                }
            }
        }
        return emailGatewayBotId;
    }

    /** A local file's mtime as Zulip writes it: float epoch seconds. */
    private static BigDecimal localTime(UploadObject object) {
        return new BigDecimal(ZulipRowWriter.epochSeconds(object.lastModified()));
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
                    ZulipRowWriter.writeScalar(g, e.getValue());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        });
        return records.size();
    }

    /** The email of a user of the realm (or the email gateway bot), looked up once for all. */
    private String email(Long userId) throws SQLException {
        if (userId == null) {
            return null;
        }
        if (emails == null) {
            emails = new HashMap<>();
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection,
                    "SELECT id, email FROM zerver_userprofile WHERE realm_id = ? OR id = ?",
                    List.of(realmId, emailGatewayBot()));
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    emails.put(rs.getLong(1), rs.getString(2));
                }
            }
        }
        return emails.get(userId);
    }

    private static void checkInterrupted() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("finalizing interrupted");
        }
    }
}
