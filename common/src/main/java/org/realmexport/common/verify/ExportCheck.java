package org.realmexport.common.verify;

import org.realmexport.common.Json;
import org.realmexport.common.event.FileCopyReport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.realmexport.common.db.ZulipTables;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One verification of one export directory. The files are read in dependency order (realm.json
 * before the message files that point into it, message files before attachment.json and the
 * reactions that point at messages), each streamed row by row; what stays in memory is the id
 * sets that later files are checked against.
 */
final class ExportCheck {
    static final String REALM = "realm.json";
    static final String ATTACHMENT = "attachment.json";
    static final String ANALYTICS = "analytics.json";
    static final String MIGRATION_STATUS = "migration_status.json";
    static final String STATS = "stats.json";
    /** stats.json's list of the referenced files an export was made without. */
    static final String STATS_MISSING_FILES = "missing_files";
    /** stats.json's list of the tables of Zulip's schema an export was made without (tables.skip). */
    static final String STATS_SKIPPED_TABLES = "skipped_tables";
    static final String MANIFEST = "manifest.json";
    static final String PARTS_DIR = ".parts";

    private static final Pattern MESSAGE_FILE = Pattern.compile("messages-(\\d{6})\\.json");

    /** Keys do_import_realm reads from realm.json without a default (a missing one is a KeyError). */
    static final List<String> REALM_REQUIRED = List.of("import_source", "zerver_userprofile",
            "zerver_userprofile_mirrordummy", "zerver_userprofile_crossrealm", "zerver_stream",
            "zerver_huddle", "zerver_client", "zerver_realm", "zerver_realmauthenticationmethod",
            "zerver_defaultstream", "zerver_realmemoji", "zerver_realmdomain", "zerver_realmfilter",
            "zerver_realmplayground", "zerver_recipient", "zerver_subscription", "zerver_userpresence",
            "zerver_useractivity", "zerver_useractivityinterval", "zerver_customprofilefield",
            "zerver_customprofilefieldvalue", "zerver_reaction");
    static final List<String> USER_GROUP_REQUIRED = List.of("zerver_usergroupmembership",
            "zerver_groupgroupmembership");
    static final List<String> USER_KEYS = List.of("email", "delivery_email", "realm", "role", "is_active",
            "is_bot", "date_joined", "last_login", "groups", "user_permissions");
    static final List<String> CROSSREALM_KEYS = List.of("email", "id", "recipient_id");
    static final List<String> MESSAGE_KEYS = List.of("sender", "recipient");
    static final List<String> USERMESSAGE_KEYS = List.of("message", "user_profile", "flags_mask");
    static final List<String> ATTACHMENT_KEYS = List.of("path_id", "owner", "realm", "create_time",
            "content_type", "messages", "scheduled_messages");
    static final List<String> ANALYTICS_TABLES = List.of("analytics_realmcount", "analytics_usercount",
            "analytics_streamcount");
    /** Field names that must never appear in any row of any file. */
    static final List<String> SECRET_KEYS = List.of("api_key", "password");
    /** Per-table columns Zulip never exports. */
    static final Map<String, List<String>> NEVER_EXPORTED = Map.of(
            "zerver_userprofile", List.of("uuid"),
            "zerver_userprofile_mirrordummy", List.of("uuid"),
            "zerver_message", List.of("search_tsvector"));

    /** The four file directories, their records.json keys, and whether the importer requires them. */
    enum FileCategory {
        UPLOADS("uploads", true, List.of("realm_id", "user_profile_id", "s3_path", "path")),
        AVATARS("avatars", true, List.of("realm_id", "user_profile_id", "s3_path", "path", "avatar_version")),
        EMOJI("emoji", false, List.of("realm_id", "path", "s3_path", "file_name")),
        REALM_ICONS("realm_icons", false, List.of("realm_id", "path", "s3_path"));

        final String dir;
        final boolean required;
        final List<String> keys;

        FileCategory(String dir, boolean required, List<String> keys) {
            this.dir = dir;
            this.required = required;
            this.keys = keys;
        }

        String records() {
            return dir + "/records.json";
        }
    }

    private final Path dir;
    private final Problems problems = new Problems();
    private final PrivacyCheck privacy = new PrivacyCheck(problems);
    /** Every regular file of the export (relative path with '/') to its size; .parts/ and .copied/ excluded. */
    private final SortedMap<String, Long> files = new TreeMap<>();

    private boolean realmRead;
    private Long realmId;
    private final Set<Long> users = new HashSet<>();
    private final Set<Long> crossRealmUsers = new HashSet<>();
    private final Set<Long> crossRealmRecipients = new HashSet<>();
    private final Set<Long> streams = new HashSet<>();
    private final Set<Long> huddles = new HashSet<>();
    private final Set<Long> recipients = new HashSet<>();
    private final Set<Long> scheduledMessages = new HashSet<>();
    private final IdSet messages = new IdSet();
    private final Set<String> uploadPaths = new HashSet<>();
    private boolean uploadsRead;

    /** Row counts per JSON file (stats name, e.g. "messages-000001") and list-valued key. */
    private final Map<String, Map<String, Long>> tableCounts = new TreeMap<>();
    /** Keys of JSON files whose value is not a list (stats.json counts them in its own way). */
    private final Map<String, Set<String>> otherKeys = new HashMap<>();
    private final Map<String, Long> recordCounts = new TreeMap<>();

    private int messageFiles;
    private long userMessages;
    private long attachments;

    ExportCheck(Path dir) {
        this.dir = dir;
    }

    ExportVerifier.Report run() throws IOException {
        inventory();
        checkManifest();
        if (UserExportCheck.applies(dir, files)) {
            return new UserExportCheck(dir, files, problems).run(files.values().stream().mapToLong(Long::longValue).sum());
        }
        checkRealm();
        for (FileCategory category : FileCategory.values()) {
            checkRecords(category);
        }
        checkMessages();
        checkReactions();
        checkAttachments();
        checkAnalytics();
        checkMigrationStatus();
        checkStats();
        long bytes = files.values().stream().mapToLong(Long::longValue).sum();
        return new ExportVerifier.Report(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(),
                problems.lines(), realmId, users.size(), streams.size(), messages.size(), messageFiles,
                userMessages, attachments, files.size(), bytes);
    }

    Problems problems() {
        return problems;
    }

    // ---------------------------------------------------------------- inventory and manifest

    private void inventory() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                String rel = relative(p);
                if (rel.isEmpty() || rel.equals(PARTS_DIR) || rel.startsWith(PARTS_DIR + "/")
                        || rel.equals(FileCopyReport.DIRECTORY) || rel.startsWith(FileCopyReport.DIRECTORY + "/")) {
                    continue; // the workers' gzip members and copy reports: never part of the export itself
                }
                if (Files.isSymbolicLink(p)) {
                    problems.add(rel, "is a symbolic link; an export holds regular files only");
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.put(rel, Files.size(p));
                }
            }
        }
    }

    private String relative(Path p) {
        return dir.relativize(p).toString().replace('\\', '/');
    }

    private void checkManifest() throws IOException {
        if (!files.containsKey(MANIFEST)) {
            problems.add(MANIFEST, "missing (it lists every file of the export with its sha256 and size)");
            return;
        }
        Set<String> listed = new HashSet<>();
        boolean found;
        try {
            found = JsonTables.readEntries(dir.resolve(MANIFEST), "files", (path, entry) -> {
                listed.add(path);
                if (unsafePath(path)) {
                    problems.add(MANIFEST, "unsafe", "lists the unsafe path '" + path + "'");
                    return;
                }
                Long size = files.get(path);
                if (size == null) {
                    problems.add(MANIFEST, "absent", "lists " + path + ", which is not in the export");
                    return;
                }
                if (!entry.path("size").isIntegralNumber() || !entry.path("sha256").isTextual()) {
                    problems.add(MANIFEST, "entry", "entry for " + path + " lacks an integer size or a sha256");
                    return;
                }
                if (entry.get("size").asLong() != size) {
                    problems.add(path, "size is " + size + " bytes, manifest.json says " + entry.get("size").asLong());
                }
                String actual = sha256(dir.resolve(path));
                if (!actual.equalsIgnoreCase(entry.get("sha256").asText())) {
                    problems.add(path, "sha256 does not match manifest.json (the file changed after the manifest was written)");
                }
            });
        } catch (IOException | RuntimeException e) {
            problems.add(MANIFEST, "not readable: " + message(e));
            return;
        }
        if (!found) {
            problems.add(MANIFEST, "has no \"files\" object");
            return;
        }
        try {
            privacy.manifest(Json.MAPPER.readTree(dir.resolve(MANIFEST).toFile()));
        } catch (IOException | RuntimeException e) {
            problems.add(MANIFEST, "not readable: " + message(e));
        }
        for (String path : files.keySet()) {
            if (!path.equals(MANIFEST) && !listed.contains(path)) {
                problems.add(path, "not listed in manifest.json");
            }
        }
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- realm.json

    private void checkRealm() {
        if (!files.containsKey(REALM)) {
            problems.add(REALM, "missing (required by Zulip's importer)");
            return;
        }
        List<Long> realmRows = new ArrayList<>();
        RowRefs recipientRefs = new RowRefs();   // recipient id, type, type_id
        RowRefs subscriptionRefs = new RowRefs(); // subscription id, user_profile, recipient
        List<String> realmRefTables = new ArrayList<>();
        RowRefs realmRefs = new RowRefs();       // row id, realm, index into realmRefTables
        Map<String, Long> counts;
        try {
            counts = readTables(REALM, table -> withPrivacy(table, switch (table) {
                case "zerver_realm" -> row -> id(row).ifPresent(realmRows::add);
                case "zerver_userprofile", "zerver_userprofile_mirrordummy" -> row -> {
                    requireKeys(REALM, table, row, USER_KEYS);
                    requireList(REALM, table, row, "groups");
                    requireList(REALM, table, row, "user_permissions");
                    id(row).ifPresent(users::add);
                    realmRef(realmRefTables, realmRefs, table, row);
                    privacy.user(table, row);
                };
                case "zerver_userprofile_crossrealm" -> row -> {
                    requireKeys(REALM, table, row, CROSSREALM_KEYS);
                    id(row).ifPresent(crossRealmUsers::add);
                    longValue(row, "recipient_id").ifPresent(crossRealmRecipients::add);
                };
                case "zerver_stream" -> row -> {
                    id(row).ifPresent(streams::add);
                    privacy.stream(row);
                    realmRef(realmRefTables, realmRefs, table, row);
                };
                case "zerver_huddle" -> row -> id(row).ifPresent(huddles::add);
                case "zerver_recipient" -> row -> id(row).ifPresent(id -> {
                    recipients.add(id);
                    recipientRefs.add(id, longValue(row, "type").orElse(-1L), longValue(row, "type_id").orElse(-1L));
                    privacy.recipient(id, longValue(row, "type").orElse(-1L), longValue(row, "type_id").orElse(-1L));
                });
                case "zerver_subscription" -> row -> id(row).ifPresent(id -> {
                    subscriptionRefs.add(id, longValue(row, "user_profile").orElse(-1L),
                            longValue(row, "recipient").orElse(-1L));
                    privacy.subscription(longValue(row, "user_profile").orElse(-1L), longValue(row, "recipient").orElse(-1L));
                });
                case "zerver_scheduledmessage" -> row -> id(row).ifPresent(scheduledMessages::add);
                default -> null;
            }));
        } catch (IOException | RuntimeException e) {
            problems.add(REALM, "not readable: " + message(e));
            return;
        }
        realmRead = true;
        privacy.realmDone();
        for (String key : REALM_REQUIRED) {
            if (!counts.containsKey(key) && !otherKeys.getOrDefault("realm", Set.of()).contains(key)) {
                problems.add(REALM, "lacks the key '" + key + "' (required by Zulip's importer)");
            }
        }
        for (String key : counts.keySet()) {
            if (!isRealmJsonKey(key)) {
                problems.add(REALM, "has the key '" + key + "', which no Zulip version writes or reads");
            }
        }
        if (counts.containsKey("zerver_usergroup")) {
            for (String key : USER_GROUP_REQUIRED) {
                if (!counts.containsKey(key)) {
                    problems.add(REALM, "has zerver_usergroup but lacks '" + key + "'");
                }
            }
        }
        if (realmRows.size() != 1) {
            problems.add(REALM, "zerver_realm holds " + realmRows.size() + " rows; an export holds exactly one realm");
        } else {
            realmId = realmRows.get(0);
        }
        if (realmId != null) {
            for (int i = 0; i < realmRefs.size(); i++) {
                if (realmRefs.a(i) != realmId) {
                    String table = realmRefTables.get((int) realmRefs.b(i));
                    problems.add(REALM, table + ".realm", table + " row " + realmRefs.rowId(i) + " belongs to realm "
                            + realmRefs.a(i) + ", not to the exported realm " + realmId);
                }
            }
        }
        Set<Long> huddleRecipients = new HashSet<>();
        for (int i = 0; i < recipientRefs.size(); i++) {
            long id = recipientRefs.rowId(i);
            long type = recipientRefs.a(i);
            long typeId = recipientRefs.b(i);
            boolean resolves = switch ((int) type) {
                case 1 -> users.contains(typeId) || crossRealmUsers.contains(typeId);
                case 2 -> streams.contains(typeId);
                case 3 -> huddles.contains(typeId);
                default -> false;
            };
            if (type == 3) {
                huddleRecipients.add(typeId);
            }
            if (type < 1 || type > 3) {
                problems.add(REALM, "recipient.type", "zerver_recipient row " + id + " has type " + type
                        + " (expected 1 personal, 2 stream, 3 direct-message group)");
            } else if (!resolves) {
                problems.add(REALM, "recipient.type_id", "zerver_recipient row " + id + " points at "
                        + new String[] {"", "user", "stream", "huddle"}[(int) type] + " " + typeId
                        + ", which is not in the export");
            }
        }
        for (long huddle : huddles) {
            if (!huddleRecipients.contains(huddle)) {
                problems.add(REALM, "huddle.recipient", "zerver_huddle row " + huddle + " has no type-3 recipient");
            }
        }
        for (int i = 0; i < subscriptionRefs.size(); i++) {
            long user = subscriptionRefs.a(i);
            long recipient = subscriptionRefs.b(i);
            if (!users.contains(user) && !crossRealmUsers.contains(user)) {
                problems.add(REALM, "subscription.user", "zerver_subscription row " + subscriptionRefs.rowId(i)
                        + " belongs to user " + user + ", who is neither exported nor cross-realm");
            }
            if (!recipients.contains(recipient)) {
                problems.add(REALM, "subscription.recipient", "zerver_subscription row "
                        + subscriptionRefs.rowId(i) + " points at recipient " + recipient + ", which is not in the export");
            }
        }
    }

    /** A realm.json table's row check followed by the privacy rules of the export's type. */
    private Consumer<ObjectNode> withPrivacy(String table, Consumer<ObjectNode> check) {
        return row -> {
            if (check != null) {
                check.accept(row);
            }
            privacy.realmRow(table, row);
        };
    }

    private void realmRef(List<String> tables, RowRefs refs, String table, ObjectNode row) {
        var realm = longValue(row, "realm");
        var id = id(row);
        if (realm.isPresent() && id.isPresent()) {
            int index = tables.indexOf(table);
            if (index < 0) {
                tables.add(table);
                index = tables.size() - 1;
            }
            refs.add(id.get(), realm.get(), index);
        }
    }

    // ---------------------------------------------------------------- records.json and files

    private void checkRecords(FileCategory category) {
        String records = category.records();
        String prefix = category.dir + "/";
        boolean hasFiles = files.keySet().stream().anyMatch(f -> f.startsWith(prefix));
        if (!files.containsKey(records)) {
            if (category.required) {
                problems.add(records, "missing (required by Zulip's importer; may be an empty list)");
            } else if (hasFiles) {
                problems.add(records, "missing, but " + category.dir + "/ holds files");
            }
            return;
        }
        Set<String> referenced = new HashSet<>();
        referenced.add(records);
        long n;
        try {
            n = JsonTables.readList(dir.resolve(records), record -> {
                for (String key : category.keys) {
                    if (!record.has(key)) {
                        problems.add(records, "record.key." + key, "the record of " + record.path("path").asText("?")
                                + " lacks the key '" + key + "'");
                    }
                }
                if (category == FileCategory.AVATARS || category == FileCategory.UPLOADS) {
                    longValue(record, "user_profile_id").ifPresent(user -> {
                        if (realmRead && !users.contains(user) && !crossRealmUsers.contains(user)) {
                            problems.add(records, "user", "record of " + text(record, "path") + " belongs to user "
                                    + user + ", who is neither exported nor cross-realm");
                        }
                    });
                }
                String s3Path = text(record, "s3_path");
                if (s3Path != null && unsafePath(s3Path)) {
                    problems.add(records, "unsafe", "record has the unsafe s3_path '" + s3Path + "'");
                }
                if (category == FileCategory.UPLOADS && s3Path != null) {
                    uploadPaths.add(s3Path);
                }
                String path = text(record, "path");
                if (path == null) {
                    return;
                }
                if (unsafePath(path)) {
                    problems.add(records, "unsafe", "record has the unsafe path '" + path
                            + "' (absolute or with '..'); the importer would read outside the export");
                    return;
                }
                String file = prefix + path;
                referenced.add(file);
                Long size = files.get(file);
                if (size == null) {
                    problems.add(records, "absent", "record points at " + file + ", which is not in the export");
                } else if (record.path("size").isIntegralNumber() && record.get("size").asLong() != size) {
                    problems.add(records, "size", "record says " + file + " has " + record.get("size").asLong()
                            + " bytes; the file has " + size);
                }
            }, () -> problems.add(records, "row", "holds an entry that is not an object"));
        } catch (IOException | RuntimeException e) {
            problems.add(records, "not readable: " + message(e));
            return;
        }
        if (category == FileCategory.UPLOADS) {
            uploadsRead = true;
        }
        recordCounts.put(category.dir + "_records", n);
        for (String file : files.keySet()) {
            if (file.startsWith(prefix) && !referenced.contains(file)) {
                problems.add(file, "not listed in " + records);
            }
        }
    }

    static boolean unsafePath(String path) {
        if (path.isEmpty() || path.startsWith("/") || path.startsWith("\\") || path.matches("^[A-Za-z]:.*")
                || path.indexOf('\0') >= 0) {
            return true;
        }
        for (String segment : path.split("[/\\\\]")) {
            if (segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- messages-NNNNNN.json

    private void checkMessages() {
        TreeMap<Integer, String> numbered = new TreeMap<>();
        for (String file : files.keySet()) {
            if (file.startsWith("messages-") && !file.contains("/")) {
                Matcher m = MESSAGE_FILE.matcher(file);
                if (m.matches()) {
                    numbered.put(Integer.parseInt(m.group(1)), file);
                } else {
                    problems.add(file, "is not named messages-NNNNNN.json; the importer will not read it");
                }
            }
        }
        int expected = 1;
        long previousLast = Long.MIN_VALUE;
        String previousFile = null;
        for (Map.Entry<Integer, String> e : numbered.entrySet()) {
            if (e.getKey() != expected) {
                String missing = String.format("messages-%06d.json", expected);
                problems.add(missing, "missing: message files are numbered from 1 without gaps, and the importer "
                        + "stops at the first missing number (" + e.getValue() + " and later would be ignored)");
            }
            expected = e.getKey() + 1;
            MessageFileResult result = checkMessageFile(e.getValue(), previousLast, previousFile);
            if (result.lastId != null) {
                previousLast = result.lastId;
                previousFile = e.getValue();
            }
            messageFiles++;
        }
    }

    private record MessageFileResult(Long lastId) {
    }

    private MessageFileResult checkMessageFile(String file, long previousLast, String previousFile) {
        Set<Long> fileMessages = new HashSet<>();
        RowRefs userMessageRefs = new RowRefs(); // usermessage id, message, user_profile
        long[] lastId = {Long.MIN_VALUE};
        boolean[] first = {true};
        Map<String, Long> counts;
        try {
            counts = readTables(file, table -> switch (table) {
                case "zerver_message" -> row -> {
                    requireKeys(file, table, row, MESSAGE_KEYS);
                    var idValue = id(row);
                    if (idValue.isEmpty()) {
                        return;
                    }
                    long id = idValue.get();
                    if (first[0] && previousFile != null && id <= previousLast) {
                        problems.add(file, "first message id " + id + " is not above the last id " + previousLast
                                + " of " + previousFile + " (message ids must ascend across files)");
                    }
                    first[0] = false;
                    lastId[0] = Math.max(lastId[0], id);
                    fileMessages.add(id);
                    messages.add(id);
                    if (realmRead) {
                        longValue(row, "sender").ifPresent(sender -> {
                            if (!users.contains(sender) && !crossRealmUsers.contains(sender)) {
                                problems.add(file, "message.sender", "message " + id + " was sent by user " + sender
                                        + ", who is neither exported nor cross-realm");
                            }
                        });
                        privacy.message(file, id, longValue(row, "sender").orElse(-1L),
                                longValue(row, "recipient").orElse(-1L));
                        longValue(row, "recipient").ifPresent(recipient -> {
                            if (!recipients.contains(recipient) && !crossRealmRecipients.contains(recipient)) {
                                problems.add(file, "message.recipient", "message " + id + " points at recipient "
                                        + recipient + ", which is not in the export");
                            }
                        });
                        checkRealmField(file, table, id, row);
                    }
                };
                case "zerver_usermessage" -> row -> {
                    requireKeys(file, table, row, USERMESSAGE_KEYS);
                    id(row).ifPresent(id -> {
                        userMessageRefs.add(id, longValue(row, "message").orElse(-1L),
                                longValue(row, "user_profile").orElse(-1L));
                        privacy.userMessage(file, id, longValue(row, "message").orElse(-1L),
                                longValue(row, "user_profile").orElse(-1L));
                    });
                };
                default -> null;
            });
        } catch (IOException | RuntimeException e) {
            problems.add(file, "not readable: " + message(e));
            return new MessageFileResult(null);
        }
        for (String key : List.of("zerver_message", "zerver_usermessage")) {
            if (!counts.containsKey(key)) {
                problems.add(file, "lacks the key '" + key + "' (required by Zulip's importer)");
            }
        }
        // No count per file: the importer reads whatever each file holds, and an export of a live
        // database holds fewer messages where some were deleted while it ran (even none).
        for (int i = 0; i < userMessageRefs.size(); i++) {
            long message = userMessageRefs.a(i);
            long user = userMessageRefs.b(i);
            if (!fileMessages.contains(message)) {
                problems.add(file, "usermessage.message", "usermessage " + userMessageRefs.rowId(i)
                        + " points at message " + message + ", which is not in this file");
            }
            if (realmRead && !users.contains(user)) {
                problems.add(file, "usermessage.user", "usermessage " + userMessageRefs.rowId(i)
                        + " belongs to user " + user + ", who is not exported");
            }
        }
        userMessages += userMessageRefs.size();
        privacy.messageFileDone(file);
        return new MessageFileResult(lastId[0] == Long.MIN_VALUE ? null : lastId[0]);
    }

    private void checkRealmField(String file, String table, long id, ObjectNode row) {
        if (realmId != null) {
            longValue(row, "realm").ifPresent(realm -> {
                if (realm.longValue() != realmId) {
                    problems.add(file, table + ".realm", table + " row " + id + " belongs to realm " + realm
                            + ", not to the exported realm " + realmId);
                }
            });
        }
    }

    // ---------------------------------------------------------------- reactions, attachments

    /** A second pass over realm.json for zerver_reaction, now that the message ids are known. */
    private void checkReactions() {
        if (!realmRead) {
            return;
        }
        try {
            JsonTables.readObject(dir.resolve(REALM), table -> !table.equals("zerver_reaction") ? null : row -> {
                long id = longValue(row, "id").orElse(-1L);
                longValue(row, "message").ifPresent(message -> {
                    if (!messages.contains(message)) {
                        problems.add(REALM, "reaction.message", "zerver_reaction row " + id + " is on message "
                                + message + ", which is not in the export");
                    }
                });
                longValue(row, "user_profile").ifPresent(user -> {
                    if (!users.contains(user)) {
                        problems.add(REALM, "reaction.user", "zerver_reaction row " + id + " belongs to user "
                                + user + ", who is not exported");
                    }
                });
            }, key -> { });
        } catch (IOException | RuntimeException e) {
            problems.add(REALM, "not readable: " + message(e));
        }
    }

    private void checkAttachments() {
        if (!files.containsKey(ATTACHMENT)) {
            problems.add(ATTACHMENT, "missing (required by Zulip's importer)");
            return;
        }
        String table = "zerver_attachment";
        Map<String, Long> counts;
        try {
            counts = readTables(ATTACHMENT, t -> !t.equals(table) ? null : row -> {
                requireKeys(ATTACHMENT, table, row, ATTACHMENT_KEYS);
                requireList(ATTACHMENT, table, row, "messages");
                requireList(ATTACHMENT, table, row, "scheduled_messages");
                long id = longValue(row, "id").orElse(-1L);
                int linked = 0;
                for (JsonNode message : row.path("messages")) {
                    linked++;
                    if (!messages.contains(message.asLong())) {
                        problems.add(ATTACHMENT, "attachment.messages", "attachment " + id + " lists message "
                                + message.asLong() + ", which is not in the export");
                    }
                }
                for (JsonNode scheduled : row.path("scheduled_messages")) {
                    linked++;
                    if (realmRead && !scheduledMessages.contains(scheduled.asLong())) {
                        problems.add(ATTACHMENT, "attachment.scheduled", "attachment " + id
                                + " lists scheduled message " + scheduled.asLong() + ", which is not in the export");
                    }
                }
                if (linked == 0 && row.has("messages")) {
                    problems.add(ATTACHMENT, "attachment.unused", "attachment " + id
                            + " is linked to no exported message or scheduled message");
                }
                if (realmRead) {
                    longValue(row, "owner").ifPresent(owner -> {
                        if (!users.contains(owner) && !crossRealmUsers.contains(owner)) {
                            problems.add(ATTACHMENT, "attachment.owner", "attachment " + id + " is owned by user "
                                    + owner + ", who is neither exported nor cross-realm");
                        }
                    });
                    checkRealmField(ATTACHMENT, table, id, row);
                }
                String pathId = text(row, "path_id");
                if (uploadsRead && pathId != null && !uploadPaths.contains(pathId)) {
                    problems.add(ATTACHMENT, "attachment.path_id", "attachment " + id + " has path_id " + pathId
                            + ", which no uploads/records.json record has as s3_path");
                }
            });
        } catch (IOException | RuntimeException e) {
            problems.add(ATTACHMENT, "not readable: " + message(e));
            return;
        }
        if (!counts.containsKey(table)) {
            problems.add(ATTACHMENT, "lacks the key '" + table + "'");
        }
        attachments = counts.getOrDefault(table, 0L);
    }

    // ---------------------------------------------------------------- the small files

    private void checkAnalytics() {
        if (!files.containsKey(ANALYTICS)) {
            return; // optional
        }
        try {
            Map<String, Long> counts = readTables(ANALYTICS, t -> null);
            for (String table : ANALYTICS_TABLES) {
                if (!counts.containsKey(table)) {
                    problems.add(ANALYTICS, "lacks the key '" + table + "' (the importer reads all three tables)");
                }
            }
        } catch (IOException | RuntimeException e) {
            problems.add(ANALYTICS, "not readable: " + message(e));
        }
    }

    private void checkMigrationStatus() {
        if (!files.containsKey(MIGRATION_STATUS)) {
            problems.add(MIGRATION_STATUS, "missing (the importer compares it with the target server's migrations)");
            return;
        }
        Map<String, JsonNode> values = new HashMap<>();
        try {
            JsonTables.readObject(dir.resolve(MIGRATION_STATUS), new JsonTables.Visitor() {
                @Override
                public Consumer<ObjectNode> table(String key) {
                    return null;
                }

                @Override
                public void value(String key, JsonNode value) {
                    values.put(key, value);
                }
            }, key -> { });
        } catch (IOException | RuntimeException e) {
            problems.add(MIGRATION_STATUS, "not readable: " + message(e));
            return;
        }
        if (!values.containsKey("migrations_by_app") || !values.get("migrations_by_app").isObject()) {
            problems.add(MIGRATION_STATUS, "lacks the object 'migrations_by_app'");
        }
        if (!values.containsKey("zulip_version") || !values.get("zulip_version").isTextual()) {
            problems.add(MIGRATION_STATUS, "lacks the string 'zulip_version'");
        }
        if (realmRead && values.containsKey("migrations_by_app")) {
            checkRealmKeysOfItsVersion(values.get("migrations_by_app").path("zerver"));
        }
    }

    /**
     * realm.json keys Zulip's importer reads when present, and the zerver migration that created
     * each table (0569 stands for the squash 0001_squashed_0569: every table older than it): an
     * export whose database had the table (its migration_status.json lists that migration or a
     * later one) but lacks the key lost the table's rows.
     */
    static final Map<String, Integer> REALM_KEYS_SINCE_MIGRATION = Map.ofEntries(
            Map.entry("zerver_usergroup", 569), Map.entry("zerver_namedusergroup", 569),
            Map.entry("zerver_usergroupmembership", 569), Map.entry("zerver_groupgroupmembership", 569),
            Map.entry("zerver_realmauditlog", 569), Map.entry("zerver_alertword", 569),
            Map.entry("zerver_onboardingstep", 569), Map.entry("zerver_usertopic", 569),
            Map.entry("zerver_muteduser", 569), Map.entry("zerver_service", 569),
            Map.entry("zerver_botstoragedata", 569), Map.entry("zerver_botconfigdata", 569),
            Map.entry("zerver_realmuserdefault", 569), Map.entry("zerver_scheduledmessage", 569),
            Map.entry("zerver_userstatus", 569), Map.entry("zerver_presencesequence", 569),
            Map.entry("zerver_onboardingusermessage", 569), Map.entry("zerver_savedsnippet", 587),
            Map.entry("zerver_channelfolder", 706), Map.entry("zerver_navigationview", 709));

    private static final Pattern ZERVER_MIGRATION = Pattern.compile("^\\[.] (\\d{4})_(squashed_(\\d{4}))?.*");

    private void checkRealmKeysOfItsVersion(JsonNode zerverLines) {
        int newest = 0;
        for (JsonNode line : zerverLines) {
            Matcher m = ZERVER_MIGRATION.matcher(line.asText());
            if (m.matches()) {
                newest = Math.max(newest, Integer.parseInt(m.group(3) != null ? m.group(3) : m.group(1)));
            }
        }
        Set<String> keys = new TreeSet<>(tableCounts.getOrDefault("realm", Map.of()).keySet());
        keys.addAll(otherKeys.getOrDefault("realm", Set.of()));
        for (Map.Entry<String, Integer> key : new TreeMap<>(REALM_KEYS_SINCE_MIGRATION).entrySet()) {
            if (newest >= key.getValue() && !keys.contains(key.getKey())) {
                problems.add(REALM, "lacks the key '" + key.getKey() + "', which Zulip's importer reads: the database"
                        + " had the table (zerver migration " + String.format("%04d", key.getValue())
                        + " or later is applied), so its rows are missing");
            }
        }
    }

    private void checkStats() {
        if (!files.containsKey(STATS)) {
            problems.add(STATS, "missing");
            return;
        }
        Map<String, JsonNode> stats = new TreeMap<>();
        List<String> missingFiles = new ArrayList<>();
        try {
            JsonTables.readObject(dir.resolve(STATS), new JsonTables.Visitor() {
                @Override
                public Consumer<ObjectNode> table(String key) {
                    stats.put(key, null);
                    return key.equals(STATS_MISSING_FILES) ? row -> missingFiles.add(describeMissing(row)) : null;
                }

                @Override
                public void value(String key, JsonNode value) {
                    stats.put(key, value);
                }
            }, key -> { });
        } catch (IOException | RuntimeException e) {
            problems.add(STATS, "not readable: " + message(e));
            return;
        }
        for (Map.Entry<String, Map<String, Long>> file : tableCounts.entrySet()) {
            String name = file.getKey();
            JsonNode entry = stats.get(name);
            if (entry == null || !entry.isObject()) {
                problems.add(STATS, "has no row counts for " + name + ".json");
                continue;
            }
            for (Map.Entry<String, Long> table : file.getValue().entrySet()) {
                JsonNode stated = entry.get(table.getKey());
                if (stated == null) {
                    problems.add(STATS, "has no count for " + table.getKey() + " of " + name + ".json");
                } else if (stated.asLong(-1) != table.getValue()) {
                    problems.add(STATS, "says " + name + ".json has " + stated.asText() + " " + table.getKey()
                            + " rows; it has " + table.getValue());
                }
            }
            Set<String> extra = new TreeSet<>();
            entry.fieldNames().forEachRemaining(extra::add);
            extra.removeAll(file.getValue().keySet());
            extra.removeAll(otherKeys.getOrDefault(name, Set.of()));
            for (String table : extra) {
                problems.add(STATS, "counts " + table + " rows in " + name + ".json, which has no such key");
            }
        }
        for (Map.Entry<String, Long> records : recordCounts.entrySet()) {
            JsonNode stated = stats.get(records.getKey());
            if (stated == null) {
                problems.add(STATS, "has no " + records.getKey() + " count");
            } else if (stated.asLong(-1) != records.getValue()) {
                problems.add(STATS, "says " + records.getKey() + " is " + stated.asText() + "; records.json has "
                        + records.getValue());
            }
        }
        if (!missingFiles.isEmpty()) {
            // exported knowingly without them (uploads.allow.missing), but the export is not whole
            problems.add(STATS, "lists " + missingFiles.size() + " files the export refers to but lacks: "
                    + String.join(", ", missingFiles.subList(0, Math.min(5, missingFiles.size())))
                    + (missingFiles.size() > 5 ? " and " + (missingFiles.size() - 5) + " more" : ""));
        }
        if (stats.containsKey(STATS_SKIPPED_TABLES)) {
            List<String> skipped = new ArrayList<>();
            try {
                org.realmexport.common.Json.MAPPER.readTree(dir.resolve(STATS).toFile()).path(STATS_SKIPPED_TABLES)
                        .forEach(t -> skipped.add(t.asText()));
            } catch (IOException e) {
                problems.add(STATS, "not readable: " + message(e));
            }
            // exported knowingly without them (tables.skip), but their rows are not in the export
            problems.add(STATS, "lists tables the export was made without (tables.skip): " + String.join(", ", skipped)
                    + "; their rows are not in the export");
        }
        for (String key : stats.keySet()) {
            if (key.equals(STATS_MISSING_FILES) || key.equals(STATS_SKIPPED_TABLES)) {
                continue;
            }
            if (!tableCounts.containsKey(key) && !recordCounts.containsKey(key)) {
                problems.add(STATS, "has counts for " + key + ", which is not in the export");
            }
        }
    }

    /**
     * Keys of realm.json that older Zulip versions wrote under another name; an export of such a
     * version (re-verified here) may carry them.
     */
    static final Set<String> OLDER_REALM_KEYS = Set.of("zerver_userhotspot", "zerver_mutedtopic", "zerver_realmalias");

    /** Whether a list-valued key of realm.json is one a Zulip version writes: a table of realm.json, or one of its extras. */
    static boolean isRealmJsonKey(String key) {
        return ZulipTables.tables(ZulipTables.Destination.REALM_JSON).contains(key) || key.equals("zerver_reaction")
                || key.equals("zerver_userprofile_mirrordummy") || key.equals("zerver_userprofile_crossrealm")
                || OLDER_REALM_KEYS.contains(key);
    }

    /** One entry of stats.json's missing_files, for a problem line: "avatars: user_profile_id 12". */
    private static String describeMissing(ObjectNode row) {
        StringBuilder text = new StringBuilder(row.path("category").asText("?")).append(':');
        row.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("category") && !e.getValue().isNull()) {
                text.append(' ').append(e.getKey().equals("path") ? "" : e.getKey() + " ").append(e.getValue().asText());
            }
        });
        return text.toString();
    }

    // ---------------------------------------------------------------- row helpers

    /**
     * Streams a JSON object file, checks every list-valued table (rows are objects with an
     * integer id, sorted ascending, unique; no secret fields), then hands each row to the
     * table's own check, if any. Records the row counts for stats.json.
     */
    private Map<String, Long> readTables(String file, java.util.function.Function<String, Consumer<ObjectNode>> checks)
            throws IOException {
        String statsName = file.substring(0, file.length() - ".json".length());
        Set<String> other = new HashSet<>();
        Map<String, Long> counts = JsonTables.readObject(dir.resolve(file), new JsonTables.Visitor() {
            @Override
            public Consumer<ObjectNode> table(String table) {
                Consumer<ObjectNode> then = checks.apply(table);
                long[] previous = {Long.MIN_VALUE};
                List<String> forbidden = NEVER_EXPORTED.getOrDefault(table, List.of());
                return row -> {
                    JsonNode id = row.get("id");
                    if (id == null || !id.isIntegralNumber()) {
                        problems.add(file, table + ".id", table + " has a row without an integer id");
                    } else {
                        long value = id.asLong();
                        if (value == previous[0]) {
                            problems.add(file, table + ".unique", table + " has two rows with id " + value);
                        } else if (value < previous[0]) {
                            problems.add(file, table + ".sorted", table + " rows are not sorted by id ("
                                    + value + " after " + previous[0] + ")");
                        }
                        previous[0] = value;
                    }
                    for (String secret : SECRET_KEYS) {
                        if (row.has(secret)) {
                            problems.add(file, table + ".secret", table + " row " + (id == null ? "?" : id.asText())
                                    + " carries the secret field '" + secret + "'");
                        }
                    }
                    for (String column : forbidden) {
                        if (row.has(column)) {
                            problems.add(file, table + "." + column, table + " row " + (id == null ? "?" : id.asText())
                                    + " carries '" + column + "', which Zulip never exports");
                        }
                    }
                    if (then != null) {
                        then.accept(row);
                    }
                };
            }

            @Override
            public void value(String key, JsonNode value) {
                other.add(key);
            }
        }, table -> problems.add(file, table + ".row", table + " holds an entry that is not an object"));
        tableCounts.put(statsName, counts);
        otherKeys.put(statsName, other);
        return counts;
    }

    private void requireKeys(String file, String table, ObjectNode row, List<String> keys) {
        for (String key : keys) {
            if (!row.has(key)) {
                problems.add(file, table + ".key." + key, table + " row " + row.path("id").asText("?")
                        + " lacks the key '" + key + "'");
            }
        }
    }

    private void requireList(String file, String table, ObjectNode row, String key) {
        if (row.has(key) && !row.get(key).isArray()) {
            problems.add(file, table + ".list." + key, table + " row " + row.path("id").asText("?")
                    + ": '" + key + "' is not a list");
        }
    }

    private static java.util.Optional<Long> id(ObjectNode row) {
        return longValue(row, "id");
    }

    private static java.util.Optional<Long> longValue(ObjectNode row, String key) {
        JsonNode node = row.get(key);
        return node != null && node.isIntegralNumber() ? java.util.Optional.of(node.asLong()) : java.util.Optional.empty();
    }

    private static String text(ObjectNode row, String key) {
        JsonNode node = row.get(key);
        return node != null && node.isTextual() ? node.asText() : null;
    }

    private static String message(Exception e) {
        Throwable t = e instanceof UncheckedIOException u ? u.getCause() : e;
        String m = t.getMessage();
        if (m == null) {
            return t.getClass().getSimpleName();
        }
        int newline = m.indexOf('\n');
        return newline < 0 ? m : m.substring(0, newline);
    }
}
