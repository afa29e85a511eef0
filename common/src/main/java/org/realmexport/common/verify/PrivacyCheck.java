package org.realmexport.common.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.realmexport.common.ExportType;
import org.realmexport.common.Manifest;
import org.realmexport.common.db.RealmScope;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The privacy rules of the export's type (manifest.json's {@code export_type}), checked on the
 * rows {@link ExportCheck} streams past: a public export holds no message to a private stream,
 * no direct message, no direct-message group, no scheduled message and no user's private rows;
 * a full export with consent holds only direct messages a consenting user sent or received,
 * private-stream messages only where a consenting user is subscribed (and, with protected history,
 * received them), and private rows, scheduled messages and usermessages only of consenting users
 * ({@code consenting_user_ids}); no export holds a usermessage of a mirror dummy.
 */
final class PrivacyCheck {
    private static final String REALM = ExportCheck.REALM;

    private final Problems problems;
    private ExportType type;
    private Set<Long> consenting;

    private final Set<Long> dummies = new HashSet<>();
    private final Set<Long> activeUsers = new HashSet<>();
    private final Set<Long> privateStreams = new HashSet<>();
    private final Set<Long> protectedStreams = new HashSet<>();
    /** recipient id to {type, type_id}. */
    private final Map<Long, long[]> recipients = new HashMap<>();
    private final Map<Long, Set<Long>> subscribers = new HashMap<>();

    /** Messages of the current file that a consenting user must have a usermessage for. */
    private final List<Long> needConsentingReceiver = new ArrayList<>();
    private final Set<Long> receivedByConsenting = new HashSet<>();

    PrivacyCheck(Problems problems) {
        this.problems = problems;
    }

    /** Reads the type (and the consenting users) from manifest.json; without a type, only the common rules apply. */
    void manifest(JsonNode manifest) {
        JsonNode t = manifest.path(Manifest.TYPE);
        if (t.isMissingNode() || org.realmexport.common.db.UserScope.isUserExport(t.asText())) {
            return; // a single-user export: UserExportCheck
        }
        try {
            type = ExportType.parse(t.asText());
        } catch (IllegalArgumentException e) {
            problems.add(ExportCheck.MANIFEST, e.getMessage());
            return;
        }
        if (type == ExportType.FULL_WITH_CONSENT) {
            JsonNode ids = manifest.path(Manifest.CONSENTING_USERS);
            if (!ids.isArray()) {
                problems.add(ExportCheck.MANIFEST, "a full export with consent lacks '" + Manifest.CONSENTING_USERS + "'");
                type = null;
                return;
            }
            consenting = new HashSet<>();
            ids.forEach(id -> consenting.add(id.asLong()));
        }
    }

    ExportType type() {
        return type;
    }

    void user(String table, ObjectNode row) {
        long id = row.path("id").asLong();
        if (table.equals("zerver_userprofile_mirrordummy")) {
            dummies.add(id);
        } else if (row.path("is_active").asBoolean(false)) {
            activeUsers.add(id);
        }
    }

    void stream(ObjectNode row) {
        long id = row.path("id").asLong();
        if (row.path("invite_only").asBoolean(false)) {
            privateStreams.add(id);
        }
        if (!row.path("history_public_to_subscribers").asBoolean(true)) {
            protectedStreams.add(id);
        }
    }

    void recipient(long id, long recipientType, long typeId) {
        recipients.put(id, new long[] {recipientType, typeId});
    }

    void subscription(long user, long recipient) {
        if (type == ExportType.FULL_WITH_CONSENT) {
            subscribers.computeIfAbsent(recipient, k -> new HashSet<>()).add(user);
        }
    }

    /** Any row of realm.json: the tables a type must leave empty or filter. */
    void realmRow(String table, ObjectNode row) {
        if (type == null || type == ExportType.FULL) {
            return;
        }
        String id = row.path("id").asText("?");
        if (table.equals("zerver_huddle") && type == ExportType.PUBLIC) {
            problems.add(REALM, "privacy.huddle", "a public export holds direct-message group " + id);
        } else if (table.equals("zerver_scheduledmessage")) {
            long sender = row.path("sender").asLong(-1);
            if (type == ExportType.PUBLIC || !consenting.contains(sender)) {
                problems.add(REALM, "privacy.scheduled", typeName() + " holds scheduled message " + id
                        + " of user " + sender + (type == ExportType.PUBLIC ? "" : ", who did not consent"));
            }
        } else if (RealmScope.PRIVATE_USER_TABLES.contains(table)) {
            long user = userOf(row);
            if (type == ExportType.PUBLIC || !consenting.contains(user)) {
                problems.add(REALM, "privacy." + table, typeName() + " holds " + table + " row " + id
                        + " of user " + user + (type == ExportType.PUBLIC ? "" : ", who did not consent"));
            }
        }
    }

    private static long userOf(ObjectNode row) {
        for (String key : List.of("user_profile", "user", "bot_profile")) {
            if (row.path(key).isIntegralNumber()) {
                return row.get(key).asLong();
            }
        }
        return -1;
    }

    /** After realm.json: a non-consenting active user must have become a mirror dummy. */
    void realmDone() {
        if (type == ExportType.FULL_WITH_CONSENT) {
            for (long user : activeUsers) {
                if (!consenting.contains(user)) {
                    problems.add(REALM, "privacy.user", "user " + user + " did not consent but is exported as an"
                            + " active user (should be a deactivated mirror dummy)");
                }
            }
        }
    }

    void message(String file, long id, long sender, long recipient) {
        if (type == null || type == ExportType.FULL) {
            return;
        }
        long[] r = recipients.get(recipient);
        if (r == null) {
            return; // reported as a dangling recipient
        }
        int rtype = (int) r[0];
        if (type == ExportType.PUBLIC) {
            if (rtype != RealmScope.STREAM) {
                problems.add(file, "privacy.direct", "a public export holds direct message " + id);
            } else if (privateStreams.contains(r[1])) {
                problems.add(file, "privacy.private", "a public export holds message " + id + " of private stream " + r[1]);
            }
            return;
        }
        boolean ok = switch (rtype) {
            case RealmScope.PERSONAL -> consenting.contains(sender) || consenting.contains(r[1]);
            case RealmScope.DIRECT_MESSAGE_GROUP -> anyConsenting(recipient);
            default -> !privateStreams.contains(r[1]) || anyConsenting(recipient);
        };
        if (!ok) {
            problems.add(file, "privacy.consent", "message " + id + " (to recipient " + recipient
                    + ") was neither sent nor receivable by a consenting user");
        } else if (rtype == RealmScope.STREAM && protectedStreams.contains(r[1])) {
            needConsentingReceiver.add(id);
        }
    }

    private boolean anyConsenting(long recipient) {
        for (long user : subscribers.getOrDefault(recipient, Set.of())) {
            if (consenting.contains(user)) {
                return true;
            }
        }
        return false;
    }

    void userMessage(String file, long id, long message, long user) {
        if (dummies.contains(user)) {
            problems.add(file, "privacy.dummy", "usermessage " + id + " belongs to mirror dummy " + user);
        }
        if (type == ExportType.FULL_WITH_CONSENT) {
            if (!consenting.contains(user)) {
                problems.add(file, "privacy.usermessage", "usermessage " + id + " belongs to user " + user
                        + ", who did not consent");
            } else {
                receivedByConsenting.add(message);
            }
        }
    }

    /** After a message file: every protected-history message was received by a consenting user. */
    void messageFileDone(String file) {
        for (long id : needConsentingReceiver) {
            if (!receivedByConsenting.contains(id)) {
                problems.add(file, "privacy.protected", "message " + id + " of a stream with protected history"
                        + " was received by no consenting user");
            }
        }
        needConsentingReceiver.clear();
        receivedByConsenting.clear();
    }

    private String typeName() {
        return type == ExportType.PUBLIC ? "a public export" : "a full export with consent";
    }
}
