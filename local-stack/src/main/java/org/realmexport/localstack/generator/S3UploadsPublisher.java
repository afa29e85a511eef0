package org.realmexport.localstack.generator;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CreateBucketRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Puts a generated LOCAL_UPLOADS_DIR into S3 as a Zulip server with S3 storage keeps it, so that
 * exports can be tried against both: attachments into the uploads bucket under their path_id,
 * avatars, emoji and realm icons into the avatar bucket, every object with the metadata Zulip's
 * upload code sets ({@code realm_id}, {@code user_profile_id}; avatars also
 * {@code avatar_version}) and its content type. Avatars are keyed as Zulip's S3 backend keys
 * them: {@code <hash>} for the resized image (locally {@code <hash>.png}), {@code <hash>.original},
 * {@code <hash>-medium.png}.
 */
public final class S3UploadsPublisher {
    private S3UploadsPublisher() {
    }

    /** What was put: objects per bucket. */
    public record Published(long uploads, long avatars) {
    }

    public static Published publish(Path uploadsDir, String jdbcUrl, String avatarSalt, S3Client s3,
                                    String uploadsBucket, String avatarBucket) throws IOException, SQLException {
        for (String bucket : List.of(uploadsBucket, avatarBucket)) {
            if (s3.listBuckets().buckets().stream().noneMatch(b -> b.name().equals(bucket))) {
                s3.createBucket(CreateBucketRequest.builder().bucket(bucket).build());
            }
        }
        Owners owners = Owners.read(jdbcUrl, avatarSalt);
        long uploads = 0;
        long avatars = 0;
        Path files = uploadsDir.resolve("files");
        for (Path f : regularFiles(files)) {
            String key = files.relativize(f).toString().replace('\\', '/');
            put(s3, uploadsBucket, key, f, Map.of("realm_id", realmOf(key),
                    "user_profile_id", String.valueOf(owners.attachments.getOrDefault(key, owners.firstUser(key)))));
            uploads++;
        }
        Path avatarDir = uploadsDir.resolve("avatars");
        for (Path f : regularFiles(avatarDir)) {
            String key = avatarDir.relativize(f).toString().replace('\\', '/');
            String realm = realmOf(key);
            String rest = key.substring(realm.length() + 1);
            Map<String, String> metadata = new HashMap<>();
            metadata.put("realm_id", realm);
            if (rest.startsWith("emoji/images/")) {
                String file = rest.substring("emoji/images/".length()).replaceFirst("\\.original$", "");
                metadata.put("user_profile_id", String.valueOf(owners.emoji.getOrDefault(realm + "/" + file,
                        owners.firstUser(key))));
            } else if (rest.startsWith("realm/")) {
                metadata.put("user_profile_id", String.valueOf(owners.firstUser(key)));
            } else {
                String hash = rest.replaceFirst("(\\.png|\\.original|-medium\\.png)$", "");
                long[] user = owners.avatars.get(realm + "/" + hash);
                if (user == null) {
                    continue; // not an avatar of a current user
                }
                metadata.put("user_profile_id", String.valueOf(user[0]));
                metadata.put("avatar_version", String.valueOf(user[1]));
                if (rest.endsWith(".png") && !rest.endsWith("-medium.png")) {
                    key = realm + "/" + hash; // Zulip's S3 key of the resized avatar has no extension
                }
            }
            put(s3, avatarBucket, key, f, metadata);
            avatars++;
        }
        return new Published(uploads, avatars);
    }

    private static String realmOf(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }

    private static void put(S3Client s3, String bucket, String key, Path file, Map<String, String> metadata) {
        String name = file.getFileName().toString();
        String type = name.endsWith(".png") || name.endsWith(".original") || !name.contains(".") ? "image/png"
                : name.endsWith(".txt") ? "text/plain" : "application/octet-stream";
        s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key).contentType(type).metadata(metadata).build(),
                RequestBody.fromFile(file));
    }

    private static List<Path> regularFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** Who uploaded what, from the database (Zulip records it on the S3 object). */
    private record Owners(Map<String, Long> attachments, Map<String, long[]> avatars, Map<String, Long> emoji,
                          Map<String, Long> firstUsers) {
        static Owners read(String jdbcUrl, String salt) throws SQLException {
            Map<String, Long> attachments = new HashMap<>();
            Map<String, long[]> avatars = new HashMap<>();
            Map<String, Long> emoji = new HashMap<>();
            Map<String, Long> firstUsers = new HashMap<>();
            try (Connection c = DriverManager.getConnection(jdbcUrl); Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("SELECT path_id, owner_id FROM zerver_attachment")) {
                    while (rs.next()) {
                        attachments.put(rs.getString(1), rs.getLong(2));
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT id, realm_id, avatar_version FROM zerver_userprofile"
                        + " WHERE avatar_source = 'U'")) {
                    while (rs.next()) {
                        avatars.put(rs.getLong(2) + "/" + avatarHash(rs.getLong(1), rs.getInt(3), salt),
                                new long[]{rs.getLong(1), rs.getInt(3)});
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT e.realm_id, e.file_name, coalesce(e.author_id,"
                        + " (SELECT min(u.id) FROM zerver_userprofile u WHERE u.realm_id = e.realm_id))"
                        + " FROM zerver_realmemoji e WHERE e.file_name IS NOT NULL")) {
                    while (rs.next()) {
                        emoji.put(rs.getLong(1) + "/" + rs.getString(2), rs.getLong(3));
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT realm_id, min(id) FROM zerver_userprofile GROUP BY 1")) {
                    while (rs.next()) {
                        firstUsers.put(String.valueOf(rs.getLong(1)), rs.getLong(2));
                    }
                }
            }
            return new Owners(attachments, avatars, emoji, firstUsers);
        }

        long firstUser(String key) {
            return firstUsers.getOrDefault(realmOf(key), 0L);
        }

        /** Zulip's avatar file name: sha256("id:version:salt")[:40]. */
        static String avatarHash(long userId, int version, String salt) {
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256")
                        .digest((userId + ":" + version + ":" + salt).getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(digest).substring(0, 40);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
