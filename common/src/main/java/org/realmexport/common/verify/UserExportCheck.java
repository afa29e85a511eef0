package org.realmexport.common.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.realmexport.common.Json;
import org.realmexport.common.Manifest;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.UserScope;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checks of a single-user export (Zulip's export_single_user format, which no importer
 * reads), after the inventory and manifest.json checks every export gets: user.json with exactly
 * the exported user, message files numbered from 1 with sorted unique ids and the single-user
 * fields, no secret field in any file, the records.json of each file directory with its files,
 * and no direct message of other users: each message the user's flags call private (or whose
 * recipient is a direct-message recipient of user.json) was sent by the user or to one of the
 * user's own direct-message recipients.
 */
final class UserExportCheck {
    private static final Pattern MESSAGE_FILE = Pattern.compile("messages-(\\d{6})\\.json");
    /** Keys of each message row besides Zulip's message fields. */
    static final List<String> MESSAGE_KEYS = List.of("id", "sender", "recipient", "flags", "flags_mask",
            "sending_client_name", "recipient_name");
    /** Fields no file of a single-user export may have (EXCLUDED_USER_PROFILE_FIELDS). */
    static final List<String> SECRET_KEYS = List.of("api_key", "password", "uuid");
    static final List<String> FILE_DIRECTORIES = List.of("uploads", "avatars", "emoji");

    private final Path dir;
    private final SortedMap<String, Long> files;
    private final Problems problems;
    private Long userId;
    private Long realmId;
    /** The user's direct-message recipients (personal, groups) and every recipient type user.json tells. */
    private final Set<Long> ownDirectRecipients = new HashSet<>();
    private final Map<Long, Long> recipientTypes = new java.util.HashMap<>();
    private int users;
    private int streams;
    private long messages;
    private int messageFiles;

    UserExportCheck(Path dir, SortedMap<String, Long> files, Problems problems) {
        this.dir = dir;
        this.files = files;
        this.problems = problems;
    }

    /** Whether the export at {@code dir} is a single-user one: its manifest says so, or it has user.json and no realm.json. */
    static boolean applies(Path dir, SortedMap<String, Long> files) {
        if (files.containsKey(ExportCheck.MANIFEST)) {
            try {
                JsonNode type = Json.MAPPER.readTree(dir.resolve(ExportCheck.MANIFEST).toFile()).path(Manifest.TYPE);
                if (type.isTextual()) {
                    return UserScope.isUserExport(type.asText());
                }
            } catch (IOException | RuntimeException e) {
                // unreadable manifest: ExportCheck reports it; decide by the files
            }
        }
        return files.containsKey(UserScope.USER_JSON) && !files.containsKey(ExportCheck.REALM);
    }

    ExportVerifier.Report run(long bytes) {
        readManifestUser();
        checkUserJson();
        checkMessages();
        for (String category : FILE_DIRECTORIES) {
            checkRecords(category);
        }
        for (String rel : files.keySet()) {
            if (rel.endsWith(".json")) {
                checkNoSecrets(rel);
            }
        }
        return new ExportVerifier.Report(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(),
                problems.lines(), realmId, users, streams, messages, messageFiles, 0, 0, files.size(), bytes);
    }

    private void readManifestUser() {
        try {
            JsonNode manifest = Json.MAPPER.readTree(dir.resolve(ExportCheck.MANIFEST).toFile());
            if (manifest.path(Manifest.REALM).isIntegralNumber()) {
                realmId = manifest.get(Manifest.REALM).asLong();
            }
            JsonNode user = manifest.path(Manifest.USER);
            if (user.isIntegralNumber()) {
                userId = user.asLong();
            } else {
                problems.add(ExportCheck.MANIFEST, "names no " + Manifest.USER + " (the exported user)");
            }
        } catch (IOException | RuntimeException e) {
            // reported by the manifest check
        }
    }

    private void checkUserJson() {
        String file = UserScope.USER_JSON;
        if (!files.containsKey(file)) {
            problems.add(file, "missing (a single-user export holds the user's rows in it)");
            return;
        }
        Set<Long> profiles = new HashSet<>();
        Map<Long, Long> subscribedRecipients = new java.util.HashMap<>(); // recipient -> user
        try {
            Map<String, Long> counts = JsonTables.readObject(dir.resolve(file), key -> switch (key) {
                case "zerver_userprofile" -> row -> longValue(row, "id").ifPresent(profiles::add);
                case "zerver_subscription" -> row -> longValue(row, "recipient").ifPresent(r ->
                        subscribedRecipients.put(r, longValue(row, "user_profile").orElse(-1L)));
                case "zerver_recipient" -> row -> longValue(row, "id").ifPresent(id ->
                        recipientTypes.put(id, longValue(row, "type").orElse(-1L)));
                default -> null;
            }, key -> problems.add(file, key + " holds an element that is not an object"));
            streams = counts.getOrDefault("zerver_stream", 0L).intValue();
        } catch (IOException | RuntimeException e) {
            problems.add(file, "not readable: " + e.getMessage());
            return;
        }
        users = profiles.size();
        if (profiles.size() != 1) {
            problems.add(file, "zerver_userprofile holds " + profiles.size() + " rows; a single-user export holds exactly"
                    + " its user");
        } else if (userId != null && !profiles.contains(userId)) {
            problems.add(file, "zerver_userprofile is user " + profiles.iterator().next() + ", manifest.json names user "
                    + userId);
        }
        subscribedRecipients.forEach((recipient, user) -> {
            if (userId != null && user.longValue() != userId) {
                problems.add(file, "zerver_subscription", "holds a subscription of user " + user + ", not of the exported user");
            }
            long type = recipientTypes.getOrDefault(recipient, -1L);
            if (type == RealmScope.PERSONAL || type == RealmScope.DIRECT_MESSAGE_GROUP) {
                ownDirectRecipients.add(recipient);
            }
        });
    }

    private void checkMessages() {
        SortedMap<Integer, String> numbered = new java.util.TreeMap<>();
        for (String rel : files.keySet()) {
            Matcher m = MESSAGE_FILE.matcher(rel);
            if (m.matches()) {
                numbered.put(Integer.parseInt(m.group(1)), rel);
            }
        }
        int expected = 1;
        long[] previous = {Long.MIN_VALUE};
        for (Map.Entry<Integer, String> f : numbered.entrySet()) {
            if (f.getKey() != expected) {
                problems.add(f.getValue(), "follows messages-" + String.format("%06d", expected - 1)
                        + ".json: the files are numbered from 1 without gaps");
                expected = f.getKey();
            }
            expected++;
            messageFiles++;
            String file = f.getValue();
            try {
                JsonTables.readObject(dir.resolve(file), key -> key.equals("zerver_message") ? row -> {
                    messages++;
                    checkMessage(file, row, previous);
                } : null, key -> problems.add(file, key + " holds an element that is not an object"));
            } catch (IOException | RuntimeException e) {
                problems.add(file, "not readable: " + e.getMessage());
            }
        }
    }

    private void checkMessage(String file, ObjectNode row, long[] previous) {
        for (String key : MESSAGE_KEYS) {
            if (!row.has(key)) {
                problems.add(file, "message-key-" + key, "has a message without '" + key + "'");
            }
        }
        long id = longValue(row, "id").orElse(-1L);
        if (id <= previous[0]) {
            problems.add(file, "order", "message " + id + " is not after message " + previous[0]
                    + " (ids are sorted and unique across the files)");
        }
        previous[0] = Math.max(previous[0], id);
        long mask = longValue(row, "flags_mask").orElse(0L);
        JsonNode flags = row.path("flags");
        if (flags.isArray()) {
            for (Iterator<JsonNode> it = flags.elements(); it.hasNext(); ) {
                int bit = UserScope.USERMESSAGE_FLAGS.indexOf(it.next().asText());
                if (bit < 0 || (mask & (1L << bit)) == 0) {
                    problems.add(file, "flags", "message " + id + " has flags that its flags_mask does not set");
                    break;
                }
            }
        }
        long recipient = longValue(row, "recipient").orElse(-1L);
        long sender = longValue(row, "sender").orElse(-1L);
        long type = recipientTypes.getOrDefault(recipient, -1L);
        boolean direct = (mask & UserScope.IS_PRIVATE_MASK) != 0 || type == RealmScope.PERSONAL
                || type == RealmScope.DIRECT_MESSAGE_GROUP;
        if (direct && userId != null && sender != userId && !ownDirectRecipients.contains(recipient)) {
            problems.add(file, "other-dm", "message " + id + " is a direct message between other users (sender " + sender
                    + ", recipient " + recipient + "): a single-user export holds only the user's own");
        }
    }

    private void checkRecords(String category) {
        String records = category + "/records.json";
        if (!files.containsKey(records)) {
            problems.add(records, "missing (Zulip's single-user export writes the records of its " + category + ")");
            return;
        }
        try {
            JsonTables.readList(dir.resolve(records), row -> {
                String path = row.path("path").asText("");
                if (path.isEmpty() || path.startsWith("/") || path.contains("..")) {
                    problems.add(records, "unsafe", "has the unsafe or empty path '" + path + "'");
                } else if (!files.containsKey(category + "/" + path)) {
                    problems.add(records, "file", "lists " + path + ", which is not in " + category + "/");
                }
                // the user's own files only: their avatar, their uploads, the emoji they added
                String ownerKey = category.equals("emoji") ? "author" : "user_profile_id";
                Long owner = longValue(row, ownerKey).orElse(null);
                if (userId != null && owner != null && owner.longValue() != userId) {
                    problems.add(records, "owner", "holds a file of user " + owner + " (" + path
                            + "), not of the exported user");
                }
            }, () -> problems.add(records, "holds an element that is not an object"));
        } catch (IOException | RuntimeException e) {
            problems.add(records, "not readable: " + e.getMessage());
        }
    }

    /** No secret field name anywhere in the file (any depth). */
    private void checkNoSecrets(String rel) {
        try {
            JsonNode tree = Json.MAPPER.readTree(dir.resolve(rel).toFile());
            for (String key : SECRET_KEYS) {
                if (tree != null && !tree.findParents(key).isEmpty()) {
                    problems.add(rel, "secret-" + key, "has a '" + key + "' field (a single-user export never holds one)");
                }
            }
        } catch (IOException | RuntimeException e) {
            problems.add(rel, "not readable: " + e.getMessage());
        }
    }

    private static java.util.Optional<Long> longValue(JsonNode row, String key) {
        JsonNode v = row.get(key);
        return v != null && v.isIntegralNumber() ? java.util.Optional.of(v.asLong()) : java.util.Optional.empty();
    }
}
