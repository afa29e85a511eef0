package org.realmexport.common.storage.s3;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.storage.UploadObject;
import org.realmexport.common.storage.UploadSource;
import org.realmexport.common.storage.UploadSource.Category;
import org.realmexport.common.storage.UploadSource.InvalidUpload;
import org.realmexport.common.storage.local.LocalUploadSource;
import org.realmexport.localstack.EmbeddedStack;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Zulip's S3 upload layout read back: listing by realm prefix, the records' S3 fields, and the checks that fail an export. */
class S3UploadSourceTest {
    private static EmbeddedStack stack;
    private static S3Client s3;

    @BeforeAll
    static void start() {
        stack = EmbeddedStack.builder().kafka(false).postgres(false).uploads(false).start();
        s3 = S3Settings.of(new RealmExportConfig(RealmExportConfig.baseConfigDef(), Map.of("s3.endpoint", stack.s3Endpoint(),
                "s3.access.key", stack.s3AccessKey(), "s3.secret.key", stack.s3SecretKey()))).client();
    }

    @AfterAll
    static void stop() throws Exception {
        s3.close();
        stack.close();
    }

    private static void put(String bucket, String key, String body, String contentType, Map<String, String> metadata) {
        s3.putObject(r -> r.bucket(bucket).key(key).contentType(contentType).metadata(metadata),
                RequestBody.fromString(body));
    }

    private static S3UploadSource source(String bucket, OptionalLong gatewayBot) {
        return new S3UploadSource(s3, bucket + "-uploads", bucket + "-avatars", gatewayBot);
    }

    private static void buckets(String name) {
        s3.createBucket(r -> r.bucket(name + "-uploads"));
        s3.createBucket(r -> r.bucket(name + "-avatars"));
    }

    @Test
    void listsARealmsObjectsByCategoryWithZulipsRecordFields() throws Exception {
        buckets("layout");
        put("layout-uploads", "2/ab/cat.png", "meow", "image/png", Map.of("realm_id", "2", "user_profile_id", "10"));
        put("layout-uploads", "3/cd/other-realm.txt", "x", "text/plain", Map.of("realm_id", "3", "user_profile_id", "30"));
        put("layout-avatars", "2/0123abcd.png", "avatar", "image/png", Map.of("realm_id", "2", "user_profile_id", "10"));
        put("layout-avatars", "2/emoji/images/7.png", "emoji", "image/png", Map.of("realm_id", "2", "user_profile_id", "10"));
        put("layout-avatars", "2/realm/icon.png", "icon", "image/png", Map.of("realm_id", "2"));

        try (UploadSource source = source("layout", OptionalLong.empty())) {
            List<UploadObject> uploads = source.list(Category.UPLOADS, 2);
            assertThat(uploads).extracting(UploadObject::key).containsExactly("2/ab/cat.png");
            UploadObject cat = uploads.get(0);
            assertThat(cat.bucket()).isEqualTo("layout-uploads");
            assertThat(cat.size()).isEqualTo(4);
            assertThat(cat.contentType()).isEqualTo("image/png");
            assertThat(cat.lastModified()).isNotNull();
            assertThat(cat.md5()).isEqualTo(md5("meow")); // a single-part ETag is the body's md5, unquoted
            assertThat(cat.metadata()).containsEntry("realm_id", "2").containsEntry("user_profile_id", "10");
            try (InputStream in = source.open(cat)) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("meow");
            }
            assertThat(source.list(Category.AVATARS, 2)).extracting(UploadObject::key)
                    .containsExactly("2/0123abcd.png");
            assertThat(source.list(Category.EMOJI, 2)).extracting(UploadObject::key).containsExactly("2/emoji/images/7.png");
            // a realm icon needs no user_profile_id (organizations imported from a local export have none)
            assertThat(source.list(Category.REALM_ICONS, 2)).extracting(UploadObject::key).containsExactly("2/realm/icon.png");
        }
    }

    @Test
    void anObjectWithoutRealmIdFailsNamingItsKey() throws Exception {
        buckets("norealm");
        put("norealm-uploads", "2/ab/fine.txt", "ok", "text/plain", Map.of("realm_id", "2", "user_profile_id", "10"));
        put("norealm-uploads", "2/cd/orphan.txt", "?", "text/plain", Map.of("user_profile_id", "10"));
        try (UploadSource source = source("norealm", OptionalLong.empty())) {
            assertThatThrownBy(() -> source.list(Category.UPLOADS, 2)).isInstanceOf(InvalidUpload.class)
                    .hasMessageContaining("s3://norealm-uploads/2/cd/orphan.txt").hasMessageContaining("no realm_id");
        }
    }

    @Test
    void anUploadWithoutUserProfileIdFails() {
        buckets("nouser");
        put("nouser-avatars", "2/emoji/images/1.png", "e", "image/png", Map.of("realm_id", "2"));
        S3UploadSource source = source("nouser", OptionalLong.empty());
        assertThatThrownBy(() -> source.list(Category.EMOJI, 2)).isInstanceOf(InvalidUpload.class)
                .hasMessageContaining("s3://nouser-avatars/2/emoji/images/1.png").hasMessageContaining("no user_profile_id");
    }

    @Test
    void aForeignRealmIdFailsUnlessTheEmailGatewayBotUploadedIt() throws Exception {
        buckets("foreign");
        put("foreign-uploads", "2/ab/gateway.eml", "mail", "message/rfc822", Map.of("realm_id", "1", "user_profile_id", "5"));
        assertThatThrownBy(() -> source("foreign", OptionalLong.of(6)).list(Category.UPLOADS, 2))
                .isInstanceOf(InvalidUpload.class)
                .hasMessageContaining("s3://foreign-uploads/2/ab/gateway.eml").hasMessageContaining("realm_id metadata is 1");
        assertThat(source("foreign", OptionalLong.of(5)).list(Category.UPLOADS, 2))
                .extracting(UploadObject::key).containsExactly("2/ab/gateway.eml");
    }

    @Test
    void keysLeavingTheExportOrOfTheWrongShapeAreRefused() {
        assertThatThrownBy(() -> S3UploadSource.checkKey(Category.AVATARS, "b", "2/../3/x.png"))
                .isInstanceOf(InvalidUpload.class).hasMessageContaining("s3://b/2/../3/x.png");
        assertThatThrownBy(() -> S3UploadSource.checkKey(Category.UPLOADS, "b", "2/ab/cd/x.png"))
                .isInstanceOf(InvalidUpload.class).hasMessageContaining("<realm_id>/<random>/<file name>");
    }

    @Test
    void theLocalDirectoryListsTheSameKeys(@TempDir Path dir) throws Exception {
        write(dir.resolve("files/2/ab/cat.png"), "meow");
        write(dir.resolve("files/3/cd/other-realm.txt"), "x");
        write(dir.resolve("avatars/2/0123abcd.png"), "avatar");
        write(dir.resolve("avatars/2/emoji/images/7.png"), "emoji");
        write(dir.resolve("avatars/2/realm/icon.png"), "icon");
        try (UploadSource source = new LocalUploadSource(dir)) {
            List<UploadObject> uploads = source.list(Category.UPLOADS, 2);
            assertThat(uploads).extracting(UploadObject::key).containsExactly("2/ab/cat.png");
            assertThat(uploads.get(0).size()).isEqualTo(4);
            try (InputStream in = source.open(uploads.get(0))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("meow");
            }
            assertThat(source.list(Category.AVATARS, 2)).extracting(UploadObject::key).containsExactly("2/0123abcd.png");
            assertThat(source.list(Category.EMOJI, 2)).extracting(UploadObject::key).containsExactly("2/emoji/images/7.png");
            assertThat(source.list(Category.REALM_ICONS, 2)).extracting(UploadObject::key).containsExactly("2/realm/icon.png");
            assertThat(source.list(Category.UPLOADS, 9)).isEmpty();
        }
    }

    private static void write(Path f, String body) throws Exception {
        Files.createDirectories(f.getParent());
        Files.writeString(f, body);
    }

    private static String md5(String body) throws Exception {
        byte[] d = MessageDigest.getInstance("MD5").digest(body.getBytes(StandardCharsets.UTF_8));
        return String.format("%032x", new BigInteger(1, d));
    }
}
