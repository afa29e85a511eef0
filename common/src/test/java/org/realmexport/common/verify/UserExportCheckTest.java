package org.realmexport.common.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** verify on a single-user export: what makes sense for it, and no realm.json demanded. */
class UserExportCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long USER = 10;
    /** The user's personal recipient, a group they are in; 200 is another user's personal recipient. */
    private static final long OWN_PERSONAL = 100;
    private static final long OWN_GROUP = 300;
    private static final long STREAM = 20;

    @TempDir
    Path tmp;

    private final ObjectNode user = JSON.createObjectNode();
    private final ArrayNode messages = JSON.createArrayNode();

    UserExportCheckTest() {
        user.set("zerver_userprofile", JSON.createArrayNode().add(JSON.createObjectNode().put("id", USER)
                .put("email", "iago@example.com").put("delivery_email", "iago@example.com")));
        ArrayNode subs = user.putArray("zerver_subscription");
        ArrayNode recipients = user.putArray("zerver_recipient");
        long[][] own = {{OWN_PERSONAL, 1}, {OWN_GROUP, 3}, {STREAM, 2}};
        for (long[] r : own) {
            subs.add(JSON.createObjectNode().put("id", r[0] + 1000).put("user_profile", USER).put("recipient", r[0]));
            recipients.add(JSON.createObjectNode().put("id", r[0]).put("type", r[1]).put("type_id", r[0]));
        }
        user.putArray("zerver_stream").add(JSON.createObjectNode().put("id", STREAM).put("name", "general"));
        message(1, 11, OWN_PERSONAL, true);   // a DM to the user
        message(2, USER, 200, true);           // a DM the user sent to someone else
        message(3, 12, OWN_GROUP, true);       // a group message the user received
        message(4, 12, STREAM, false);         // a stream message
    }

    private void message(long id, long sender, long recipient, boolean direct) {
        messages.add(JSON.createObjectNode().put("id", id).put("sender", sender).put("recipient", recipient)
                .put("content", "hi").<ObjectNode>set("flags", JSON.createArrayNode().add("read"))
                .put("flags_mask", 1 | (direct ? 1 << 11 : 0)).put("sending_client_name", "website")
                .put("recipient_name", "x"));
    }

    private final ArrayNode uploads = JSON.createArrayNode().add(upload("2/ab/cdef/notes.txt", USER));

    private static ObjectNode upload(String path, long owner) {
        return JSON.createObjectNode().put("realm_id", 2).put("user_profile_id", owner).put("s3_path", path)
                .put("path", path).put("size", 5);
    }

    private Path write(Map<String, ObjectNode> extraFiles) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("zulip-export-0123456789abcdef0123"));
        Map<String, Object> files = new TreeMap<>();
        files.put("user.json", user);
        files.put("messages-000001.json", JSON.createObjectNode().set("zerver_message", messages));
        files.put("uploads/records.json", uploads);
        files.put("avatars/records.json", JSON.createArrayNode());
        files.put("emoji/records.json", JSON.createArrayNode());
        for (com.fasterxml.jackson.databind.JsonNode u : uploads) {
            files.put("uploads/" + u.get("path").asText(), "hello");
        }
        files.putAll(extraFiles);
        ObjectNode manifest = JSON.createObjectNode().put("export_type", "user").put("realm_id", 2).put("user_id", USER);
        ObjectNode listed = manifest.putObject("files");
        for (Map.Entry<String, Object> f : files.entrySet()) {
            Path p = dir.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            if (f.getValue() instanceof String text) {
                Files.writeString(p, text);
            } else {
                JSON.writeValue(p.toFile(), f.getValue());
            }
            listed.putObject(f.getKey()).put("sha256", ExportCheck.sha256(p)).put("size", Files.size(p));
        }
        JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
        return dir;
    }

    private List<String> problems(Path dir) throws IOException {
        return new ExportVerifier(tmp.resolve("work")).verify(dir).problems();
    }

    @Test
    void aSoundSingleUserExportHasNoProblemsAndNeedsNoRealmJson() throws IOException {
        ExportVerifier.Report report = new ExportVerifier().verify(write(Map.of()));

        assertThat(report.problems()).isEmpty();
        assertThat(report.messages()).isEqualTo(4);
        assertThat(report.users()).isEqualTo(1);
    }

    @Test
    void aDirectMessageBetweenOtherUsersIsReported() throws IOException {
        message(5, 11, 200, true); // user 11 to the owner of recipient 200: not the exported user's

        assertThat(problems(write(Map.of()))).containsExactly("messages-000001.json: message 5 is a direct message"
                + " between other users (sender 11, recipient 200): a single-user export holds only the user's own");
    }

    @Test
    void anotherUsersUploadOrAMissingRecordsFileIsReported() throws IOException {
        uploads.add(upload("2/cd/efgh/theirs.txt", 11));
        Path dir = write(Map.of());
        Files.delete(dir.resolve("emoji/records.json"));

        assertThat(problems(dir))
                .contains("uploads/records.json: holds a file of user 11 (2/cd/efgh/theirs.txt), not of the exported user")
                .contains("emoji/records.json: missing (Zulip's single-user export writes the records of its emoji)");
    }

    @Test
    void aSecretFieldOrAChangedFileIsReported() throws IOException {
        ((ObjectNode) user.get("zerver_userprofile").get(0)).put("api_key", "abc");
        Path dir = write(Map.of());
        Files.writeString(dir.resolve("messages-000001.json"), "{\"zerver_message\": []}");

        assertThat(problems(dir))
                .contains("user.json: has a 'api_key' field (a single-user export never holds one)")
                .anyMatch(p -> p.startsWith("messages-000001.json: size is"))
                .anyMatch(p -> p.startsWith("messages-000001.json: sha256 does not match manifest.json"));
    }

    @Test
    void anotherUsersRowsOrMissingFieldsAreReported() throws IOException {
        ((ArrayNode) user.get("zerver_userprofile")).add(JSON.createObjectNode().put("id", 11));
        ((ObjectNode) messages.get(0)).remove("flags_mask");

        assertThat(problems(write(Map.of())))
                .contains("user.json: zerver_userprofile holds 2 rows; a single-user export holds exactly its user")
                .contains("messages-000001.json: has a message without 'flags_mask'");
    }
}
