package org.realmexport.assembler;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.Json;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.db.Database;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.storage.upload.UploadSource;
import org.realmexport.common.ExportType;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.event.Versioned;
import org.realmexport.producer.FileCopyPlanner;
import org.realmexport.worker.FileCopyWriter;
import org.realmexport.common.storage.upload.UploadSources;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.localstack.generator.S3UploadsPublisher;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The media of an export read from Zulip's S3 buckets: the same files as from the uploads
 * directory (keys as Zulip's S3 backend names them), records with Zulip's S3 fields, and an
 * object without Zulip's metadata failing the export naming its key.
 */
class S3UploadSourceTest {
    private static final String UPLOADS = "zulip-uploads";
    private static final String AVATARS = "zulip-avatars";

    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Database db;
    private static S3Client s3;

    @BeforeAll
    static void start() throws Exception {
        stack = EmbeddedStack.builder().kafka(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(2000)
                .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
        db = new Database(stack.jdbcUrl(), null, null, 2, "s3-upload-test");
        s3 = settings().client();
        S3UploadsPublisher.Published put = S3UploadsPublisher.publish(stack.uploadsDir(), stack.jdbcUrl(),
                realms.avatarSalt(), s3, UPLOADS, AVATARS);
        assertThat(put.uploads()).isPositive();
        assertThat(put.avatars()).isPositive();
    }

    @AfterAll
    static void stop() throws Exception {
        if (s3 != null) {
            s3.close();
        }
        if (db != null) {
            db.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    private static Map<String, Object> config() {
        Map<String, Object> config = new HashMap<>();
        config.put("jdbc.url", stack.jdbcUrl());
        config.put("s3.endpoint", stack.s3Endpoint());
        config.put("s3.access.key", stack.s3AccessKey());
        config.put("s3.secret.key", stack.s3SecretKey());
        config.put("s3.uploads.bucket", UPLOADS);
        config.put("s3.avatar.bucket", AVATARS);
        config.put("avatar.salt", realms.avatarSalt());
        return config;
    }

    private static org.realmexport.common.storage.s3.S3Settings settings() {
        return org.realmexport.common.storage.s3.S3Settings.of(new ExportAssemblerConfig(config()));
    }

    /** Runs the media step of one export from {@code source} into {@code dir}; returns path -> sha256. */
    private static Map<String, String> exportMedia(UploadSource source, Path dir) throws Exception {
        long realmId = realms.primary().realmId();
        List<AttachmentExporter.Exported> attachments = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT id, path_id, owner_id, realm_id FROM zerver_attachment a WHERE realm_id = ? AND (EXISTS (SELECT 1"
                        + " FROM zerver_attachment_messages l WHERE l.attachment_id = a.id) OR EXISTS (SELECT 1 FROM"
                        + " zerver_attachment_scheduled_messages l WHERE l.attachment_id = a.id)) ORDER BY id")) {
            ps.setLong(1, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    attachments.add(new AttachmentExporter.Exported(rs.getLong(1), rs.getString(2), rs.getLong(3),
                            rs.getLong(4)));
                }
            }
        }
        try (ExportStores stores = new ExportStores(new ExportAssemblerConfig(config()));
             ExportStore store = stores.open(ExportStores.location(dir.toString()));
             Connection c = db.connection()) {
            // the file copy batches as the producer plans them and a worker runs them, then the assembler's merge
            RealmScope scope = RealmScope.resolve(c, db.catalog(), realmId, ExportType.FULL, "zulipinternal")
                    .materialized(c);
            FileCopyWriter writer = new FileCopyWriter(db.catalog(), source, realms.avatarSalt());
            List<ResultSummary.CopyBatch> batches = new ArrayList<>();
            for (FileCopyPlanner.Batch b : FileCopyPlanner.plan(c, db.catalog(), realmId)) {
                ExportTask task = new ExportTask(Versioned.CURRENT, "s3-test", b.kind(), realmId, "full",
                        store.location(), Long.MAX_VALUE, b.number(), b.firstId(), b.lastId(), b.rows(), 0);
                FileCopyWriter.Outcome o = writer.write(c, scope, task, store, () -> false);
                String report = FileCopyReport.path(task.taskId());
                batches.add(new ResultSummary.CopyBatch(b.kind(), b.number(), task.taskId(), report,
                        o.files().get(report)));
            }
            c.rollback();
            ExportOutput out = new ExportOutput("s3-test", store, TarGzPart.DEFAULT_LEVEL);
            MissingFiles missing = new MissingFiles();
            CopiedFiles.read(out, batches).write(out, attachments, missing);
            assertThat(missing.isEmpty()).as("nothing missing: %s", missing.isEmpty() ? "" : missing.summary()).isTrue();
            Map<String, String> files = new TreeMap<>();
            out.files().forEach((path, listed) -> files.put(path, listed.file().sha256()));
            return files;
        }
    }

    @Test
    void theSameFilesAsFromTheUploadsDirectoryWithZulipsS3Records(@TempDir Path temp) throws Exception {
        Map<String, String> local = exportMedia(UploadSources.local(stack.uploadsDir()), temp.resolve("local"));
        Map<String, String> fromS3;
        try (UploadSource source = UploadSources.open(new ExportAssemblerConfig(config()))) {
            assertThat(source.isS3()).isTrue();
            fromS3 = exportMedia(source, temp.resolve("s3"));
        }
        // the same bytes under Zulip's S3 names: an avatar's resized image is <hash> on S3, <hash>.png
        // locally; realm icons keep S3's realm/ folder
        Map<String, String> localAsS3 = new TreeMap<>();
        String icons = "realm_icons/" + realms.primary().realmId() + "/";
        local.forEach((path, sha) -> {
            if (path.endsWith("records.json")) {
                return;
            }
            String p = path.startsWith("avatars/") && path.endsWith(".png") && !path.endsWith("-medium.png")
                    ? path.substring(0, path.length() - 4) : path;
            localAsS3.put(p.startsWith(icons) ? icons + "realm/" + p.substring(icons.length()) : p, sha);
        });
        Map<String, String> s3Files = new TreeMap<>(fromS3);
        s3Files.keySet().removeIf(p -> p.endsWith("records.json"));
        assertThat(s3Files).isEqualTo(localAsS3);
        assertThat(s3Files.keySet()).anyMatch(p -> p.startsWith("uploads/")).anyMatch(p -> p.startsWith("avatars/"))
                .anyMatch(p -> p.startsWith("emoji/")).anyMatch(p -> p.startsWith("realm_icons/"));

        // records.json as Zulip's export_files_from_s3 writes them
        JsonNode uploads = Json.MAPPER.readTree(temp.resolve("s3").resolve("uploads/records.json").toFile());
        JsonNode first = uploads.get(0);
        assertThat(first.get("bucket").asText()).isEqualTo(UPLOADS);
        assertThat(first.get("path").asText()).isEqualTo(first.get("s3_path").asText());
        assertThat(first.get("realm_id").asLong()).isEqualTo(realms.primary().realmId());
        assertThat(first.get("user_profile_id").isIntegralNumber()).isTrue();
        assertThat(first.get("user_profile_email").asText()).contains("@");
        assertThat(first.get("md5").asText()).startsWith("\"");
        assertThat(first.get("last_modified").asText()).endsWith("+00:00");
        HeadObjectResponse head = s3.headObject(b -> b.bucket(UPLOADS).key(first.get("s3_path").asText()));
        assertThat(first.get("size").asLong()).isEqualTo(head.contentLength());
        assertThat(first.get("content_type").asText()).isEqualTo(head.contentType());
        JsonNode emoji = Json.MAPPER.readTree(temp.resolve("s3").resolve("emoji/records.json").toFile());
        assertThat(emoji.get(0).get("file_name").asText()).doesNotEndWith(".original");
    }

    /** The file copy batches of a single-user export of {@code userId} from {@code source} into {@code dir}. */
    private static void exportUserMedia(UploadSource source, Path dir, long userId) throws Exception {
        long realmId = realms.primary().realmId();
        try (ExportStores stores = new ExportStores(new ExportAssemblerConfig(config()));
             ExportStore store = stores.open(ExportStores.location(dir.toString()));
             Connection c = db.connection()) {
            UserScope scope = UserScope.of(db.catalog(), realmId, userId);
            FileCopyWriter writer = new FileCopyWriter(db.catalog(), source, realms.avatarSalt());
            List<ResultSummary.CopyBatch> batches = new ArrayList<>();
            for (FileCopyPlanner.Batch b : FileCopyPlanner.planUser(c, db.catalog(), scope)) {
                ExportTask task = new ExportTask(Versioned.CURRENT, "s3-user-test", b.kind(), realmId, UserScope.TYPE,
                        store.location(), Long.MAX_VALUE, b.number(), b.firstId(), b.lastId(), b.rows(), 0, userId);
                FileCopyWriter.Outcome o = writer.write(c, scope, task, store, () -> false);
                String report = FileCopyReport.path(task.taskId());
                batches.add(new ResultSummary.CopyBatch(b.kind(), b.number(), task.taskId(), report,
                        o.files().get(report)));
            }
            c.rollback();
            ExportOutput out = new ExportOutput("s3-user-test", store, TarGzPart.DEFAULT_LEVEL);
            MissingFiles missing = new MissingFiles();
            CopiedFiles.read(out, batches).writeUserFiles(out, missing);
            assertThat(missing.isEmpty()).as("nothing missing: %s", missing.isEmpty() ? "" : missing.summary()).isTrue();
        }
    }

    @Test
    void aSingleUserExportCopiesTheUsersOwnFilesFromS3(@TempDir Path temp) throws Exception {
        long realmId = realms.primary().realmId();
        long user;
        List<String> owned = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement("SELECT u.id FROM"
                + " zerver_userprofile u WHERE u.realm_id = ? AND u.avatar_source = 'U' AND EXISTS (SELECT 1 FROM"
                + " zerver_attachment a WHERE a.owner_id = u.id) ORDER BY u.id LIMIT 1")) {
            ps.setLong(1, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                user = rs.getLong(1);
            }
            try (PreparedStatement p2 = c.prepareStatement("SELECT path_id FROM zerver_attachment WHERE owner_id = ?")) {
                p2.setLong(1, user);
                try (ResultSet rs = p2.executeQuery()) {
                    while (rs.next()) {
                        owned.add(rs.getString(1));
                    }
                }
            }
        }
        try (UploadSource source = UploadSources.open(new ExportAssemblerConfig(config()))) {
            assertThat(source.isS3()).isTrue();
            exportUserMedia(source, temp, user);
        }

        JsonNode uploads = Json.MAPPER.readTree(temp.resolve("uploads/records.json").toFile());
        List<String> paths = new ArrayList<>();
        uploads.forEach(r -> {
            paths.add(r.get("s3_path").asText());
            assertThat(r.get("user_profile_id").asLong()).isEqualTo(user);
            assertThat(r.get("bucket").asText()).isEqualTo(UPLOADS);
        });
        assertThat(paths).containsExactlyInAnyOrderElementsOf(owned);
        JsonNode avatars = Json.MAPPER.readTree(temp.resolve("avatars/records.json").toFile());
        assertThat(avatars).isNotEmpty();
        avatars.forEach(r -> assertThat(r.get("user_profile_id").asLong()).isEqualTo(user));
        assertThat(temp.resolve("realm_icons")).doesNotExist();
    }

    @Test
    void anObjectWithoutRealmIdMetadataFailsNamingItsKey(@TempDir Path temp) throws Exception {
        String key;
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT path_id FROM zerver_attachment WHERE realm_id = ? ORDER BY id LIMIT 1")) {
            ps.setLong(1, realms.primary().realmId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                key = rs.getString(1);
            }
        }
        Map<String, String> metadata = s3.headObject(b -> b.bucket(UPLOADS).key(key)).metadata();
        Map<String, String> without = new HashMap<>(metadata);
        without.remove("realm_id");
        replaceMetadata(key, without);
        try (UploadSource source = UploadSources.open(new ExportAssemblerConfig(config()))) {
            assertThatThrownBy(() -> exportMedia(source, temp.resolve("out")))
                    .hasMessageContaining("s3://" + UPLOADS + "/" + key)
                    .hasMessageContaining("no realm_id metadata");
        } finally {
            replaceMetadata(key, metadata);
        }
        // and of another realm (not the email gateway bot's): refused too
        Map<String, String> foreign = new HashMap<>(metadata);
        foreign.put("realm_id", String.valueOf(realms.secondary().realmId()));
        replaceMetadata(key, foreign);
        try (UploadSource source = UploadSources.open(new ExportAssemblerConfig(config()))) {
            assertThatThrownBy(() -> exportMedia(source, temp.resolve("out2")))
                    .hasMessageContaining("s3://" + UPLOADS + "/" + key)
                    .hasMessageContaining("realm_id " + realms.secondary().realmId());
        } finally {
            replaceMetadata(key, metadata);
        }
    }

    private static void replaceMetadata(String key, Map<String, String> metadata) {
        s3.copyObject(CopyObjectRequest.builder().sourceBucket(UPLOADS).sourceKey(key)
                .destinationBucket(UPLOADS).destinationKey(key)
                .metadataDirective(MetadataDirective.REPLACE).metadata(metadata).build());
    }

}
