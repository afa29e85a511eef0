package org.realmexport.common.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * A tiny but complete realm export held as JSON trees, so that a test can break one thing
 * before {@link #write} lays it out; stats.json and manifest.json are derived from whatever
 * the trees then hold, so the only problem is the one the test made.
 *
 * <p>Realm 2 with users 10, 11, 12 (and mirror dummy 13), the cross-realm bot 1, stream 20,
 * huddle 30, 1500 messages (ids 1001..2500) in two files with 3 usermessages each, two
 * reactions, one attachment with its upload, one avatar.
 */
final class ExportFixture {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long REALM_ID = 2;
    static final String NAME = "zulip-export-0123456789abcdef0123";

    final ObjectNode realm = JSON.createObjectNode();
    final List<ObjectNode> messageFiles = new ArrayList<>();
    /** File name of each entry of {@link #messageFiles}; a test may renumber one. */
    final List<String> messageFileNames = new ArrayList<>();
    final ObjectNode attachment = JSON.createObjectNode();
    final ObjectNode analytics = JSON.createObjectNode();
    final ObjectNode migrationStatus = JSON.createObjectNode();
    final Map<String, ArrayNode> records = new LinkedHashMap<>();
    /** Keys stats.json carries besides the counts (a list of skipped tables ...). */
    final Map<String, Object> statsExtras = new TreeMap<>();
    /** manifest.json's keys besides "files" (the export type ...). */
    final ObjectNode manifestExtras = JSON.createObjectNode();
    /** Files of the four file directories, by relative path. */
    final Map<String, byte[]> blobs = new TreeMap<>();

    ExportFixture() {
        ObjectNode realmRow = row(REALM_ID).put("string_id", "acme").put("name", "Acme")
                .put("date_created", 1.7e9);
        realm.set("zerver_realm", list(realmRow));
        ArrayNode users = JSON.createArrayNode();
        for (long id = 10; id <= 12; id++) {
            users.add(user(id));
        }
        realm.set("zerver_userprofile", users);
        realm.set("zerver_userprofile_mirrordummy", list(user(13).put("is_mirror_dummy", true)));
        realm.set("zerver_userprofile_crossrealm", list(JSON.createObjectNode()
                .put("email", "notification-bot@zulip.com").put("id", 1).put("recipient_id", 1)));
        realm.set("zerver_stream", list(row(20).put("name", "general").put("realm", REALM_ID)
                .put("invite_only", false).put("recipient", 110)));
        realm.set("zerver_huddle", list(row(30).put("huddle_hash", "abc").put("recipient", 120)));
        ArrayNode recipients = JSON.createArrayNode();
        for (long user = 10; user <= 13; user++) {
            recipients.add(row(90 + user).put("type", 1).put("type_id", user));
        }
        recipients.add(row(110).put("type", 2).put("type_id", 20));
        recipients.add(row(120).put("type", 3).put("type_id", 30));
        realm.set("zerver_recipient", recipients);
        ArrayNode subscriptions = JSON.createArrayNode();
        long subId = 200;
        for (long user = 10; user <= 13; user++) {
            subscriptions.add(row(subId++).put("user_profile", user).put("recipient", 90 + user).put("active", true));
        }
        for (long user = 10; user <= 12; user++) {
            subscriptions.add(row(subId++).put("user_profile", user).put("recipient", 110).put("active", true));
        }
        subscriptions.add(row(subId++).put("user_profile", 10).put("recipient", 120).put("active", true));
        subscriptions.add(row(subId).put("user_profile", 11).put("recipient", 120).put("active", true));
        realm.set("zerver_subscription", subscriptions);
        realm.set("zerver_client", list(row(5).put("name", "website")));
        realm.set("zerver_reaction", list(
                row(300).put("message", 1001).put("user_profile", 11).put("emoji_name", "smile"),
                row(301).put("message", 2400).put("user_profile", 12).put("emoji_name", "tada")));
        for (String empty : List.of("zerver_realmauthenticationmethod", "zerver_defaultstream", "zerver_realmemoji",
                "zerver_realmdomain", "zerver_realmfilter", "zerver_realmplayground", "zerver_userpresence",
                "zerver_useractivity", "zerver_useractivityinterval", "zerver_customprofilefield",
                "zerver_customprofilefieldvalue", "zerver_scheduledmessage")) {
            realm.set(empty, JSON.createArrayNode());
        }
        realm.put("import_source", "zulip");

        long userMessageId = 5000;
        for (int file = 0; file < 2; file++) {
            ArrayNode messages = JSON.createArrayNode();
            ArrayNode userMessages = JSON.createArrayNode();
            long first = 1001 + 1000L * file;
            long last = Math.min(first + 999, 2500);
            for (long id = first; id <= last; id++) {
                long sender = id % 50 == 0 ? 1 : 10 + id % 3;
                messages.add(row(id).put("sender", sender).put("recipient", id % 7 == 0 ? 120 : 110)
                        .put("realm", REALM_ID).put("content", "message " + id).put("date_sent", 1.7e9 + id)
                        .put("sending_client", 5).put("subject", "topic"));
                for (long user = 10; user <= 12; user++) {
                    userMessages.add(row(userMessageId++).put("message", id).put("user_profile", user)
                            .put("flags_mask", 1));
                }
            }
            ObjectNode content = JSON.createObjectNode();
            content.set("zerver_message", messages);
            content.set("zerver_usermessage", userMessages);
            messageFiles.add(content);
            messageFileNames.add(String.format("messages-%06d.json", file + 1));
        }

        String pathId = REALM_ID + "/ab/report.txt";
        ObjectNode attachmentRow = row(50).put("file_name", "report.txt").put("path_id", pathId)
                .put("owner", 10).put("realm", REALM_ID).put("create_time", 1.7e9).put("size", 5)
                .putNull("content_type").put("is_realm_public", true).put("is_web_public", false);
        attachmentRow.set("messages", JSON.createArrayNode().add(1005));
        attachmentRow.set("scheduled_messages", JSON.createArrayNode());
        attachment.set("zerver_attachment", list(attachmentRow));
        blobs.put("uploads/" + pathId, "hello".getBytes(StandardCharsets.UTF_8));
        records.put("uploads", list(JSON.createObjectNode().put("realm_id", REALM_ID).put("user_profile_id", 10)
                .put("user_profile_email", "user10@acme.test").put("s3_path", pathId).put("path", pathId)
                .put("size", 5).put("last_modified", 1.7e9).putNull("content_type")));
        String avatar = REALM_ID + "/0f1e2d.png";
        blobs.put("avatars/" + avatar, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
        records.put("avatars", list(JSON.createObjectNode().put("realm_id", REALM_ID).put("user_profile_id", 11)
                .put("user_profile_email", "user11@acme.test").put("avatar_version", 1).put("s3_path", avatar)
                .put("path", avatar).put("size", 7).put("last_modified", 1.7e9).putNull("content_type")));
        records.put("emoji", JSON.createArrayNode());
        records.put("realm_icons", JSON.createArrayNode());

        for (String table : List.of("analytics_realmcount", "analytics_usercount", "analytics_streamcount")) {
            analytics.set(table, JSON.createArrayNode());
        }
        ObjectNode apps = JSON.createObjectNode();
        apps.set("zerver", JSON.createArrayNode().add("0001_initial"));
        migrationStatus.set("migrations_by_app", apps);
        migrationStatus.put("zulip_version", "10.4");
    }

    private static ObjectNode user(long id) {
        ObjectNode user = row(id).put("email", "user" + id + "@acme.test").put("delivery_email", "user" + id + "@acme.test")
                .put("full_name", "User " + id).put("realm", REALM_ID).put("role", 400).put("is_active", true)
                .put("is_bot", false).put("date_joined", 1.6e9).put("last_login", 1.7e9).put("recipient", 90 + id);
        user.set("groups", JSON.createArrayNode());
        user.set("user_permissions", JSON.createArrayNode());
        return user;
    }

    static ObjectNode row(long id) {
        return JSON.createObjectNode().put("id", id);
    }

    static ArrayNode list(ObjectNode... rows) {
        ArrayNode list = JSON.createArrayNode();
        Arrays.stream(rows).forEach(list::add);
        return list;
    }

    /** The first row of {@code table} in {@code file} whose id is {@code id}. */
    static ObjectNode rowById(ObjectNode file, String table, long id) {
        for (JsonNode row : file.get(table)) {
            if (row.get("id").asLong() == id) {
                return (ObjectNode) row;
            }
        }
        throw new IllegalArgumentException(table + " has no row " + id);
    }

    /** Writes {@code <parent>/zulip-export-.../} with stats.json and manifest.json; returns it. */
    Path write(Path parent) throws IOException {
        Path dir = Files.createDirectories(parent.resolve(NAME));
        Map<String, Object> stats = new TreeMap<>();
        writeJson(dir, "realm.json", realm, stats);
        for (int i = 0; i < messageFiles.size(); i++) {
            writeJson(dir, messageFileNames.get(i), messageFiles.get(i), stats);
        }
        writeJson(dir, "attachment.json", attachment, stats);
        writeJson(dir, "analytics.json", analytics, stats);
        JSON.writeValue(dir.resolve("migration_status.json").toFile(), migrationStatus);
        for (Map.Entry<String, ArrayNode> r : records.entrySet()) {
            Path file = Files.createDirectories(dir.resolve(r.getKey())).resolve("records.json");
            JSON.writeValue(file.toFile(), r.getValue());
            stats.put(r.getKey() + "_records", r.getValue().size());
        }
        for (Map.Entry<String, byte[]> blob : blobs.entrySet()) {
            Path file = dir.resolve(blob.getKey());
            Files.createDirectories(file.getParent());
            Files.write(file, blob.getValue());
        }
        stats.putAll(statsExtras);
        JSON.writeValue(dir.resolve("stats.json").toFile(), stats);
        writeManifest(dir, manifestExtras);
        return dir;
    }

    /** Zulip's stats: len() of every top-level value, so a string counts its characters. */
    private static void writeJson(Path dir, String name, ObjectNode content, Map<String, Object> stats)
            throws IOException {
        JSON.writeValue(dir.resolve(name).toFile(), content);
        Map<String, Integer> lengths = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = content.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            lengths.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText().length() : e.getValue().size());
        }
        stats.put(name.substring(0, name.length() - ".json".length()), lengths);
    }

    static void writeManifest(Path dir) throws IOException {
        writeManifest(dir, JSON.createObjectNode());
    }

    static void writeManifest(Path dir, ObjectNode extras) throws IOException {
        ObjectNode entries = JSON.createObjectNode();
        for (String rel : relativeFiles(dir)) {
            if (rel.equals("manifest.json")) {
                continue;
            }
            byte[] bytes = Files.readAllBytes(dir.resolve(rel));
            entries.set(rel, JSON.createObjectNode().put("sha256", sha256(bytes)).put("size", bytes.length));
        }
        ObjectNode manifest = extras.deepCopy();
        manifest.set("files", entries);
        JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    }

    static List<String> relativeFiles(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(rel -> !rel.startsWith(".parts/"))
                    .sorted().toList();
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Packs an export directory the way the pipeline does: one gzip member per file holding its
     * tar entry (no end-of-archive blocks), then a member with the two zero blocks.
     */
    static Path packConcatenated(Path dir, Path tarball) throws IOException {
        String top = dir.getFileName().toString();
        try (OutputStream out = Files.newOutputStream(tarball)) {
            for (String rel : relativeFiles(dir)) {
                byte[] entry = tarEntry(top + "/" + rel, Files.readAllBytes(dir.resolve(rel)));
                out.write(gzip(entry));
            }
            out.write(gzip(new byte[1024]));
        }
        return tarball;
    }

    /** One tar entry: header, data, padding to 512; without the end-of-archive blocks. */
    static byte[] tarEntry(String name, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes, 512)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            TarArchiveEntry entry = new TarArchiveEntry(name);
            entry.setSize(data.length);
            tar.putArchiveEntry(entry);
            tar.write(data);
            tar.closeArchiveEntry();
            tar.finish();
        }
        byte[] all = bytes.toByteArray();
        return Arrays.copyOf(all, all.length - 1024);
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        }
        return bytes.toByteArray();
    }
}
