package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.Json;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.StorePaths;
import org.realmexport.common.storage.StoredFile;
import org.realmexport.common.storage.upload.UploadSource;
import org.realmexport.common.storage.upload.UploadSource.Area;
import org.realmexport.common.storage.upload.UploadSource.UploadObject;
import org.realmexport.common.storage.upload.UploadSources;
import org.realmexport.common.config.RealmExportConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
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
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Runs one file copy batch ({@link ExportTask.Kind#isFileCopy()}): copies its files from the
 * server's {@link UploadSource} into the export store, each in one pass with its tarball part,
 * and writes the batch's {@link FileCopyReport} (every file's records.json entry, size and sha256,
 * and the referenced files not found). Following Zulip's export.py
 * ({@code export_uploads_from_local}, {@code export_avatars_from_local},
 * {@code export_emoji_from_local}, {@code export_realm_icons}, and for S3 {@code export_files_from_s3}):
 * <pre>
 * source key (area)                                   export
 * &lt;path_id&gt; (uploads)                                  uploads/&lt;path_id&gt;
 * &lt;realm&gt;/&lt;hash&gt;[.*] (avatars; hash of user id)         avatars/&lt;realm&gt;/&lt;hash&gt;[.*]
 * &lt;realm&gt;/emoji/images/&lt;file&gt;[.original] (avatars)      emoji/&lt;realm&gt;/emoji/images/&lt;file&gt;[.original]
 * &lt;realm&gt;/realm/&lt;file&gt; (avatars)                       realm_icons/&lt;realm&gt;/&lt;file&gt; (local),
 *                                                     realm_icons/&lt;realm&gt;/realm/&lt;file&gt; (S3, as Zulip)
 * </pre>
 * From S3, records carry Zulip's S3 fields ({@code s3_path, bucket, size, last_modified,
 * content_type, md5} and the object's metadata). An upload batch copies the attachments of its id
 * range that an exportable message or scheduled message of the export uses now; the assembler
 * keeps those attachment.json keeps.
 *
 * <p>A file the realm refers to but that is not there (an attachment's upload, the avatar of a
 * user whose avatar_source is not 'G', an emoji's image, an uploaded realm icon or logo) is
 * reported missing; the assembler decides whether that fails the export. An S3 object without
 * Zulip's {@code realm_id} or {@code user_profile_id} metadata, or of another realm (files the
 * email gateway bot uploaded excepted), and a stored path with {@code ..}, fail the task naming it.
 */
public final class FileCopyWriter {
    private static final Logger LOG = LoggerFactory.getLogger(FileCopyWriter.class);
    /** How boto3 and orjson write an S3 object's last_modified in Zulip's records.json. */
    private static final DateTimeFormatter S3_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'+00:00'")
            .withZone(ZoneOffset.UTC);
    /** Metadata Zulip writes as numbers in records.json. */
    private static final Set<String> INTEGER_METADATA = Set.of("realm_id", "user_profile_id", "avatar_version");

    /** What the task reports: its report file, and the bytes it copied (for the metrics). */
    /**
     * What a batch copied; {@code unsynced}: the store paths it published, not yet durable, which
     * the worker syncs before the result is committed ({@link FileSyncer}).
     */
    public record Outcome(Map<String, TaskResult.FileInfo> files, int copied, long bytes, List<String> unsynced) {
    }

    private final SchemaCatalog catalog;
    private final UploadSource source;
    private final String avatarSalt;

    /**
     * @param source     where the server keeps its uploads, or null when none is configured
     * @param avatarSalt Zulip's avatar_salt, or null
     */
    public FileCopyWriter(SchemaCatalog catalog, UploadSource source, String avatarSalt) {
        this.catalog = catalog;
        this.source = source;
        this.avatarSalt = avatarSalt;
    }

    /**
     * Copies the batch's files and writes its report.
     *
     * Throws a {@code TaskAnomaly} naming what in the data fails the export (an unsafe path, an
     * S3 object without Zulip's metadata).
     *
     * @param scope the export's scope (the messages whose attachments may be copied)
     */
    public Outcome write(Connection connection, RealmScope scope, ExportTask task, ExportStore store,
                         BooleanSupplier cancelled) throws IOException, SQLException, TaskAnomaly {
        Batch batch = new Batch(connection, task, store, cancelled);
        switch (task.kind()) {
            case UPLOADS -> batch.uploads(usedByExportedMessages(scope, task.watermark()));
            case AVATARS -> batch.avatars("true");
            case EMOJI -> batch.emoji("true");
            case REALM_ICONS -> batch.realmIcons();
            default -> throw new IllegalArgumentException(task.kind() + " copies no files");
        }
        return report(batch, task, store);
    }

    /**
     * Copies a batch of a single-user export: the user's own attachments, avatar and custom emoji
     * ({@link UserScope}); a single-user export has no realm icons.
     */
    public Outcome write(Connection connection, UserScope scope, ExportTask task, ExportStore store,
                         BooleanSupplier cancelled) throws IOException, SQLException, TaskAnomaly {
        Batch batch = new Batch(connection, task, store, cancelled);
        switch (task.kind()) {
            case UPLOADS -> batch.uploads(scope.attachmentPredicate("a"));
            case AVATARS -> batch.avatars(scope.avatarUserPredicate("zerver_userprofile"));
            case EMOJI -> batch.emoji(scope.emojiPredicate("zerver_realmemoji"));
            default -> throw new IllegalArgumentException(task.kind() + " copies no files of a single-user export");
        }
        return report(batch, task, store);
    }

    /**
     * SQL over zerver_attachment alias {@code a}: used by an exportable message (up to the
     * watermark) or an exported scheduled message; null when the database links attachments to neither.
     */
    private String usedByExportedMessages(RealmScope scope, long watermark) {
        SchemaCatalog.Table messageLink = catalog.table("zerver_attachment_messages").orElse(null);
        SchemaCatalog.Table scheduledLink = catalog.table("zerver_attachment_scheduled_messages").orElse(null);
        List<String> uses = new ArrayList<>();
        if (messageLink != null) {
            uses.add("EXISTS (SELECT 1 FROM zerver_attachment_messages l JOIN zerver_message m ON m.id = l."
                    + ZulipRowWriter.quote(MessageShardWriter.columnReferencing(messageLink, "zerver_message"))
                    + " WHERE l." + ZulipRowWriter.quote(MessageShardWriter.columnReferencing(messageLink,
                    "zerver_attachment")) + " = a.id AND m.id <= " + watermark + " AND "
                    + scope.messagePredicate("m") + ")");
        }
        if (scheduledLink != null && catalog.hasTable("zerver_scheduledmessage")) {
            uses.add("EXISTS (SELECT 1 FROM zerver_attachment_scheduled_messages l JOIN zerver_scheduledmessage s"
                    + " ON s.id = l." + ZulipRowWriter.quote(MessageShardWriter.columnReferencing(scheduledLink,
                    "zerver_scheduledmessage")) + " WHERE l." + ZulipRowWriter.quote(
                    MessageShardWriter.columnReferencing(scheduledLink, "zerver_attachment")) + " = a.id AND "
                    + scope.scheduledMessagePredicate("s") + ")");
        }
        return uses.isEmpty() ? null : "(" + String.join(" OR ", uses) + ")";
    }

    private Outcome report(Batch batch, ExportTask task, ExportStore store) throws IOException {
        // the result promises the files: the worker syncs them all, the report with them, before it
        // commits the result, on a thread of its own (one sync per batch, not one per file here)
        FileCopyReport report = new FileCopyReport(Versioned.CURRENT, batch.copied, batch.missing,
                List.copyOf(batch.causes));
        String path = FileCopyReport.path(task.taskId());
        StoredFile.Written written;
        try (StoredFile file = store.create(path, false)) {
            Json.MAPPER.writeValue(file.stream(), report);
            written = file.commit();
        }
        long bytes = batch.copied.stream().mapToLong(FileCopyReport.Copied::size).sum();
        LOG.info("export {} {}: copied {} files ({} bytes) from {}{}", task.exportId(), task.taskId(),
                batch.copied.size(), bytes, UploadSources.describe(source),
                batch.missing.isEmpty() ? "" : "; " + batch.missing.size() + " referenced files not found");
        List<String> unsynced = new ArrayList<>(batch.published);
        unsynced.add(path);
        return new Outcome(Map.of(path, new TaskResult.FileInfo(written.size(), written.sha256())),
                batch.copied.size(), bytes, List.copyOf(unsynced));
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

    /** A path read from the database or a listing, joined to the uploads and export directories: no '..'. */
    static String safe(String path, String what) throws TaskAnomaly {
        if (path == null || path.isEmpty()) {
            throw new TaskAnomaly(what + " is empty");
        }
        try {
            return StorePaths.check(path);
        } catch (IllegalArgumentException e) {
            throw new TaskAnomaly(what + " is the unsafe path '" + path.replace("\0", "\\0")
                    + "' (absolute, or with '..', '.', '\\' or an empty segment); refusing to read or write it");
        }
    }

    static String safeFileName(String name, String what) throws TaskAnomaly {
        safe(name, what);
        if (name.indexOf('/') >= 0) {
            throw new TaskAnomaly(what + " is the unsafe file name '" + name + "' (contains '/')");
        }
        return name;
    }

    /** One batch being copied. */
    private final class Batch {
        private final Connection connection;
        private final ExportTask task;
        private final long realmId;
        private final ExportStore store;
        private final BooleanSupplier cancelled;
        final List<FileCopyReport.Copied> copied = new ArrayList<>();
        final List<FileCopyReport.Missing> missing = new ArrayList<>();
        final Set<String> causes = new LinkedHashSet<>();
        /** The files and parts published, to be synced at the end. */
        final List<String> published = new ArrayList<>();
        private Map<Long, String> emails;
        private Long emailGatewayBotId;

        Batch(Connection connection, ExportTask task, ExportStore store, BooleanSupplier cancelled) {
            this.connection = connection;
            this.task = task;
            this.realmId = task.realmId();
            this.store = store;
            this.cancelled = cancelled;
        }

        /** Notes why nothing could be found when no uploads source is configured. */
        private void noSource() {
            if (source == null) {
                causes.add(UploadSources.describe(null) + ": set " + RealmExportConfig.UPLOADS_DIR
                        + " to Zulip's LOCAL_UPLOADS_DIR, or " + RealmExportConfig.S3_UPLOADS_BUCKET + " and "
                        + RealmExportConfig.S3_AVATAR_BUCKET + " to its S3 buckets");
            }
        }

        private SortedMap<String, UploadObject> list(Area area, String prefix) throws IOException {
            return source == null ? new TreeMap<>() : source.list(area, prefix);
        }

        /**
         * The attachments of the batch's id range that the export carries ({@code exported}, over
         * alias {@code a}; null: none), each looked up by its own key: Zulip lists the realm's
         * prefix, so one stored under another realm's is not found.
         */
        void uploads(String exported) throws IOException, SQLException, TaskAnomaly {
            if (exported == null) {
                return;
            }
            String sql = "SELECT a.id, a.path_id, a.owner_id FROM zerver_attachment a WHERE a.realm_id = ?"
                    + " AND a.id BETWEEN ? AND ? AND " + exported + " ORDER BY a.id";
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql,
                    List.of(realmId, task.firstId(), task.lastId()));
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    checkCancelled();
                    long id = rs.getLong(1);
                    String pathId = safe(rs.getString(2), "path_id of attachment " + id);
                    long ownerId = rs.getLong(3);
                    noSource();
                    UploadObject object = pathId.startsWith(realmId + "/")
                            ? list(Area.UPLOADS, pathId).get(pathId) : null;
                    if (object == null) {
                        missing.add(new FileCopyReport.Missing("uploads", "files/" + pathId, "attachment_id", id,
                                "attachment " + id));
                        continue;
                    }
                    if (source.isS3()) {
                        copyFromS3(Area.UPLOADS, object, "uploads/" + pathId, false, id);
                        continue;
                    }
                    Map<String, Object> record = new LinkedHashMap<>();
                    record.put("realm_id", realmId);
                    record.put("user_profile_id", ownerId);
                    record.put("user_profile_email", email(ownerId));
                    record.put("s3_path", pathId);
                    record.put("path", pathId);
                    record.put("size", object.size());
                    record.put("last_modified", localTime(object));
                    record.put("content_type", null);
                    copy(Area.UPLOADS, object, "uploads/" + pathId, id, record);
                }
            }
        }

        /** @param exported which users of the batch's range (SQL over zerver_userprofile) */
        void avatars(String exported) throws IOException, SQLException, TaskAnomaly {
            String prefix = realmId + "/";
            // the realm's avatar files: keys directly under <realm>/ (emoji/ and realm/ are deeper)
            SortedMap<String, UploadObject> listing = null;
            SchemaCatalog.Table users = catalog.require("zerver_userprofile");
            String version = users.hasColumn("avatar_version") ? "avatar_version" : "1";
            String sql = "SELECT id, email, avatar_source, " + version + " FROM zerver_userprofile"
                    + " WHERE realm_id = ? AND id BETWEEN ? AND ? AND " + exported + " ORDER BY id";
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql,
                    List.of(realmId, task.firstId(), task.lastId()));
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
                        causes.add(ShardWorkerConfig.AVATAR_SALT + " is not set, and avatar files are named by it:"
                                + " set it to Zulip's avatar_salt secret (/etc/zulip/zulip-secrets.conf)");
                        missing.add(new FileCopyReport.Missing("avatars", null, "user_profile_id", userId, owner));
                        continue;
                    }
                    if (listing == null) {
                        listing = new TreeMap<>();
                        for (Map.Entry<String, UploadObject> e : list(Area.AVATARS, prefix).entrySet()) {
                            if (e.getKey().indexOf('/', prefix.length()) < 0) {
                                listing.put(e.getKey(), e.getValue());
                            }
                        }
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
                        missing.add(new FileCopyReport.Missing("avatars", "avatars/" + prefix + stems.get(0)
                                + (source != null && source.isS3() ? "" : ".png"), "user_profile_id", userId, owner));
                        continue;
                    }
                    for (UploadObject object : files) {
                        checkCancelled();
                        String path = safe(object.key(), "avatar key");
                        if (source.isS3()) {
                            copyFromS3(Area.AVATARS, object, "avatars/" + path, false, null);
                            continue;
                        }
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
                        copy(Area.AVATARS, object, "avatars/" + path, null, record);
                    }
                }
            }
        }

        /** @param exported which emoji of the batch's range (SQL over zerver_realmemoji) */
        void emoji(String exported) throws IOException, SQLException, TaskAnomaly {
            if (!catalog.hasTable("zerver_realmemoji")) {
                return;
            }
            SortedMap<String, UploadObject> listing = null;
            SchemaCatalog.Table t = catalog.require("zerver_realmemoji");
            String sql = "SELECT id, name, file_name, "
                    + (t.hasColumn("author_id") ? "author_id" : "NULL") + ", "
                    + (t.hasColumn("deactivated") ? "deactivated" : "false")
                    + " FROM zerver_realmemoji WHERE realm_id = ? AND id BETWEEN ? AND ? AND " + exported + " ORDER BY id";
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql,
                    List.of(realmId, task.firstId(), task.lastId()));
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    checkCancelled();
                    String fileName = rs.getString(3);
                    if (fileName == null) {
                        continue; // an emoji without an image (never uploaded)
                    }
                    long emojiId = rs.getLong(1);
                    safeFileName(fileName, "file_name of realm emoji " + emojiId);
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
                                missing.add(new FileCopyReport.Missing("emoji", "avatars/" + path, "realm_emoji_id",
                                        emojiId, "the image of realm emoji " + emojiId + " (" + rs.getString(2) + ")"));
                            }
                            continue; // .original exists only for emoji uploaded by recent versions
                        }
                        if (source.isS3()) {
                            copyFromS3(Area.AVATARS, object, "emoji/" + p, true, null);
                            continue;
                        }
                        Map<String, Object> record = new LinkedHashMap<>();
                        record.put("realm_id", realmId);
                        record.put("author", author);
                        record.put("path", p);
                        record.put("s3_path", p);
                        record.put("file_name", fileName);
                        record.put("name", rs.getString(2));
                        record.put("deactivated", rs.getBoolean(5));
                        copy(Area.AVATARS, object, "emoji/" + p, null, record);
                    }
                }
            }
        }

        void realmIcons() throws IOException, SQLException, TaskAnomaly {
            String prefix = realmId + "/realm/";
            SortedMap<String, UploadObject> listing = list(Area.AVATARS, prefix);
            for (String name : uploadedRealmImages()) {
                String file = name + ".png";
                if (!listing.containsKey(prefix + file)) {
                    noSource();
                    missing.add(new FileCopyReport.Missing("realm_icons", "avatars/" + prefix + file,
                            "realm_id", realmId, "the uploaded " + name.replace('_', ' ') + " of the realm"));
                }
            }
            for (UploadObject object : listing.values()) {
                checkCancelled();
                String fileName = safeFileName(object.key().substring(prefix.length()), "realm icon file name");
                if (source.isS3()) {
                    copyFromS3(Area.AVATARS, object, "realm_icons/" + object.key(), false, null);
                    continue;
                }
                String path = realmId + "/" + fileName;
                Map<String, Object> record = new LinkedHashMap<>();
                record.put("realm_id", realmId);
                record.put("path", path);
                record.put("s3_path", path);
                copy(Area.AVATARS, object, "realm_icons/" + path, null, record);
            }
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

        /** Copies one file into the export with its part, in one pass (synced with the others at the end). */
        private void copy(Area area, UploadObject object, String relativePath, Long attachmentId,
                          Map<String, Object> record) throws IOException, SQLException {
            try (UploadSource.Download download = source.open(area, object.key())) {
                copy(download, relativePath, attachmentId, record);
            }
        }

        private void copy(UploadSource.Download download, String relativePath, Long attachmentId,
                          Map<String, Object> record) throws IOException, SQLException {
            StoredFile.Written written;
            try (PackedFile file = PackedFile.create(store, relativePath, TarGzPart.DEFAULT_LEVEL, false)) {
                download.in().transferTo(file.stream());
                written = file.commit();
            }
            published.addAll(PackedFile.paths(store, relativePath));
            checkCancelled(); // a stopping worker leaves the batch after the file in flight, uncommitted
            copied.add(new FileCopyReport.Copied(relativePath, written.size(), written.sha256(), attachmentId,
                    json(record)));
        }

        /**
         * Copies one S3 object with its record as Zulip's {@code _get_exported_s3_record} makes it:
         * the S3 fields, the object's metadata (ids as numbers), the owner's email, the path.
         */
        private void copyFromS3(Area area, UploadObject object, String relativePath, boolean emoji, Long attachmentId)
                throws IOException, SQLException, TaskAnomaly {
            String where = "s3://" + source.where(area) + "/" + object.key();
            safe(object.key(), "the key of " + where);
            Map<String, Object> record = new LinkedHashMap<>();
            try (UploadSource.Download download = source.open(area, object.key())) {
                Map<String, String> metadata = download.metadata();
                checkMetadata(where, metadata);
                record.put("s3_path", object.key());
                record.put("bucket", source.where(area));
                record.put("size", object.size());
                record.put("last_modified", object.lastModified() == null ? null
                        : S3_TIME.format(object.lastModified()));
                record.put("content_type", download.contentType());
                record.put("md5", object.etag());
                metadata.forEach((k, v) -> record.put(k, INTEGER_METADATA.contains(k) ? Long.valueOf(v) : v));
                if (emoji) {
                    String name = object.key().substring(object.key().lastIndexOf('/') + 1);
                    record.put("file_name", name.endsWith(".original") ? name.substring(0, name.length() - 9) : name);
                }
                record.put("user_profile_email", email((Long) record.get("user_profile_id")));
                record.put("path", object.key());
                copy(download, relativePath, attachmentId, record);
            }
        }

        /** Zulip's checks of an object's metadata (export_files_from_s3), failing with the key instead of crashing. */
        private void checkMetadata(String where, Map<String, String> metadata) throws TaskAnomaly, SQLException {
            for (String key : List.of("realm_id", "user_profile_id")) {
                String value = metadata.get(key);
                if (value == null) {
                    throw new TaskAnomaly(where + " has no " + key + " metadata (Zulip's upload code sets realm_id and"
                            + " user_profile_id on every object); set it on the object, or remove the object");
                }
                if (!value.matches("\\d{1,18}")) {
                    throw new TaskAnomaly(where + " has the " + key + " metadata '" + value + "', not an id");
                }
            }
            if (Long.parseLong(metadata.get("realm_id")) != realmId
                    && !Long.valueOf(metadata.get("user_profile_id")).equals(emailGatewayBot())) {
                throw new TaskAnomaly(where + " is under realm " + realmId + "'s prefix but its metadata says realm_id "
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

        /** The email of a user of the realm (or the email gateway bot), looked up once for the batch. */
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

        private void checkCancelled() throws SQLException {
            if (cancelled.getAsBoolean()) {
                throw new SQLException("cancelled: the worker is stopping");
            }
        }
    }

    /** A local file's mtime as Zulip writes it: float epoch seconds. */
    private static BigDecimal localTime(UploadObject object) {
        return new BigDecimal(ZulipRowWriter.epochSeconds(object.lastModified()));
    }

    /** One records.json entry as JSON text, written as the assembler's generator writes records.json. */
    static String json(Map<String, Object> record) throws IOException {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = Json.FACTORY.createGenerator(text)) {
            g.writeStartObject();
            for (Map.Entry<String, Object> e : record.entrySet()) {
                g.writeFieldName(e.getKey());
                ZulipRowWriter.writeScalar(g, e.getValue());
            }
            g.writeEndObject();
        }
        return text.toString();
    }
}
