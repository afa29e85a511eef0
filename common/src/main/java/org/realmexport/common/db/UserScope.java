package org.realmexport.common.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a single-user export of one user contains (Zulip's {@code export_single_user} and
 * {@code export_messages_single_user}), as SQL predicates: the one place where the producer
 * (which message ids to plan), the workers (which rows go into user.json and the message files,
 * and the fields those get) and the assembler (which uploads, avatars and emoji) learn it, as
 * {@link RealmScope} is for realm exports.
 *
 * <ul>
 *   <li>user.json ({@link #userJsonTables()}): the user's profile (without {@code api_key},
 *       {@code password}, {@code uuid}: {@link ExportRules#EXCLUDED_COLUMNS}), their subscriptions,
 *       the recipients of those, the streams among them, their analytics_usercount rows, the
 *       audit-log rows that modified them or that they acted in, their reactions, and their rows of
 *       the per-user tables;</li>
 *   <li>messages ({@link #messagePredicate}): those the user sent (in their realm), those sent to
 *       a direct-message recipient they are subscribed to (their personal recipient, their groups),
 *       and those they reacted to; of these only the ones the user has a usermessage for, since
 *       Zulip reads each message through the user's usermessage (flags and all). A stream message is
 *       in only when the user sent it or reacted to it;</li>
 *   <li>files: the attachments the user owns, their avatar, the custom emoji they added; no realm
 *       icons.</li>
 * </ul>
 */
public final class UserScope {
    /** The {@code type} of the tasks and status of a single-user export, and manifest.json's export_type. */
    public static final String TYPE = "user";
    /** The file of the user's rows. */
    public static final String USER_JSON = "user.json";

    /** Zulip's UserMessage.ALL_FLAGS, in bit order: bit i of {@code flags} is the i-th name. */
    public static final List<String> USERMESSAGE_FLAGS = List.of("read", "starred", "collapsed", "mentioned",
            "stream_wildcard_mentioned", "topic_wildcard_mentioned", "group_mentioned", "force_expand",
            "force_collapse", "has_alert_word", "historical", "is_private", "active_mobile_push_notification");
    /** Flags Zulip's flags_list() leaves out (AbstractUserMessage.NON_API_FLAGS). */
    public static final Set<String> NON_API_FLAGS = Set.of("is_private", "active_mobile_push_notification");
    /** The bit of {@code is_private}: the message is a direct message (or to a direct-message group). */
    public static final long IS_PRIVATE_MASK = 1L << USERMESSAGE_FLAGS.indexOf("is_private");

    /**
     * The per-user tables of user.json with the column naming their user, in the order of Zulip's
     * add_user_profile_child_configs (every row of the user: a single-user export is the user's own
     * data, so the private tables are in too).
     */
    private static final Map<String, String> USER_CHILD_TABLES = userChildTables();

    private static Map<String, String> userChildTables() {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("zerver_alertword", "user_profile_id");
        t.put("zerver_customprofilefieldvalue", "user_profile_id");
        t.put("zerver_muteduser", "user_profile_id");
        t.put("zerver_navigationview", "user_id");
        t.put("zerver_onboardingstep", "user_id");
        t.put("zerver_savedsnippet", "user_profile_id");
        t.put("zerver_useractivity", "user_profile_id");
        t.put("zerver_useractivityinterval", "user_profile_id");
        t.put("zerver_userpresence", "user_profile_id");
        t.put("zerver_userstatus", "user_profile_id");
        t.put("zerver_usertopic", "user_profile_id");
        t.put("zerver_externalauthid", "user_id");
        return t;
    }

    private final SchemaCatalog catalog;
    private final long realmId;
    private final long userId;

    private UserScope(SchemaCatalog catalog, long realmId, long userId) {
        this.catalog = catalog;
        this.realmId = realmId;
        this.userId = userId;
    }

    public static UserScope of(SchemaCatalog catalog, long realmId, long userId) {
        return new UserScope(catalog, realmId, userId);
    }

    /** Whether a task's or status's {@code type} is that of a single-user export. */
    public static boolean isUserExport(String type) {
        return TYPE.equals(type);
    }

    /**
     * The user of {@code realmId} a request names: a numeric id, else an email, matched as Zulip's
     * management commands do (delivery_email, case-insensitively), then the (possibly fake)
     * {@code email} Zulip shows.
     */
    public static Optional<Long> findUser(Connection connection, long realmId, String user) throws SQLException {
        String u = user.trim();
        if (u.matches("\\d{1,18}")) {
            Optional<Long> byId = first(connection, "SELECT id FROM zerver_userprofile WHERE realm_id = ? AND id = ?",
                    realmId, Long.parseLong(u));
            if (byId.isPresent()) {
                return byId;
            }
        }
        Optional<Long> byDelivery = first(connection, "SELECT id FROM zerver_userprofile WHERE realm_id = ?"
                + " AND upper(delivery_email) = upper(?) ORDER BY id LIMIT 1", realmId, u);
        return byDelivery.isPresent() ? byDelivery : first(connection, "SELECT id FROM zerver_userprofile"
                + " WHERE realm_id = ? AND upper(email) = upper(?) ORDER BY id LIMIT 1", realmId, u);
    }

    private static Optional<Long> first(Connection connection, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getLong(1)) : Optional.empty();
            }
        }
    }

    public long realmId() {
        return realmId;
    }

    public long userId() {
        return userId;
    }

    /** The recipients of the user's subscriptions. */
    public String subscribedRecipientIds() {
        return "SELECT s.recipient_id FROM zerver_subscription s WHERE s.user_profile_id = " + userId;
    }

    /** The user's personal and direct-message-group recipients: the messages to these were "to me". */
    public String directRecipientIds() {
        return "SELECT s.recipient_id FROM zerver_subscription s JOIN zerver_recipient r ON r.id = s.recipient_id"
                + " WHERE s.user_profile_id = " + userId + " AND r.type IN (" + RealmScope.PERSONAL + ", "
                + RealmScope.DIRECT_MESSAGE_GROUP + ")";
    }

    /**
     * The keys of user.json with the predicate (over alias {@code t}) of their rows, in the order
     * of Zulip's get_single_user_config. Tables this database does not have are left out.
     */
    public Map<String, String> userJsonTables() {
        Map<String, String> parts = new LinkedHashMap<>();
        parts.put("zerver_userprofile", "t.id = " + userId);
        parts.put("zerver_subscription", "t.user_profile_id = " + userId);
        parts.put("zerver_recipient", "t.id IN (" + subscribedRecipientIds() + ")");
        parts.put("zerver_stream", "t.id IN (SELECT r.type_id FROM zerver_recipient r WHERE r.type = "
                + RealmScope.STREAM + " AND r.id IN (" + subscribedRecipientIds() + "))");
        parts.put("analytics_usercount", "t.user_id = " + userId);
        parts.put("zerver_realmauditlog", "(t.modified_user_id = " + userId + " OR t.acting_user_id = " + userId + ")");
        parts.put("zerver_reaction", "t.user_profile_id = " + userId);
        USER_CHILD_TABLES.forEach((table, column) -> parts.put(table, "t." + column + " = " + userId));
        parts.keySet().removeIf(table -> !catalog.hasTable(table));
        return parts;
    }

    /**
     * Predicate on zerver_message alias {@code m}: the messages of the export (no id bounds): a
     * usermessage of the user and {@link #candidatePredicate}.
     */
    public String messagePredicate(String m) {
        return "(" + m + ".id IN (SELECT um.message_id FROM zerver_usermessage um WHERE um.user_profile_id = " + userId
                + ") AND " + candidatePredicate(m) + ")";
    }

    /**
     * Predicate on zerver_message alias {@code m}: sent by the user in the realm, or to one of the
     * user's direct-message recipients in the realm, or reacted to by the user (Zulip's
     * messages_from_me, messages_to_me and reaction_message_ids); the usermessage condition aside.
     */
    public String candidatePredicate(String m) {
        String realm = catalog.hasColumn("zerver_message", "realm_id") ? m + ".realm_id = " + realmId + " AND " : "";
        return "((" + realm + "(" + m + ".sender_id = " + userId + " OR " + m + ".recipient_id IN ("
                + directRecipientIds() + "))) OR " + m + ".id IN (SELECT re.message_id FROM zerver_reaction re"
                + " WHERE re.user_profile_id = " + userId + "))";
    }

    /**
     * The message ids of the export in {@code (afterId, watermark]}, ascending, at most
     * {@code limit}: one keyset page, read from the user's usermessages. Parameters: afterId, watermark.
     */
    public String messageIdPage(int limit) {
        return "SELECT m.id FROM zerver_usermessage u JOIN zerver_message m ON m.id = u.message_id WHERE"
                + " u.user_profile_id = " + userId + " AND u.message_id > ? AND u.message_id <= ? AND "
                + candidatePredicate("m") + " ORDER BY u.message_id LIMIT " + limit;
    }

    /**
     * Predicate for one planned shard: alias {@code m}; parameters firstId, lastId, watermark. The
     * user's usermessages of the range are read first, as an id array, so that PostgreSQL looks the
     * messages up by primary key (as an IN sub-select it scanned every message of the realm: 0.4 s
     * against 0.15 s a shard at 300k messages).
     */
    public String shardPredicate(String m) {
        return m + ".id = ANY(ARRAY(SELECT um.message_id FROM zerver_usermessage um WHERE um.user_profile_id = "
                + userId + " AND um.message_id BETWEEN ? AND ? AND um.message_id <= ?)) AND " + candidatePredicate(m);
    }

    /** The user's usermessage flags of message {@code m} (a bigint; Zulip's flags_mask). */
    public String flagsMask(String m) {
        return "(SELECT um.flags FROM zerver_usermessage um WHERE um.message_id = " + m + ".id AND um.user_profile_id = "
                + userId + ")";
    }

    /** Zulip's flags_list() of the user's flags of message {@code m}: the names of the set bits, but the non-API ones (a text[]). */
    public String flagsList(String m) {
        List<String> api = new ArrayList<>();
        for (int i = 0; i < USERMESSAGE_FLAGS.size(); i++) {
            if (!NON_API_FLAGS.contains(USERMESSAGE_FLAGS.get(i))) {
                api.add("(" + i + ", '" + USERMESSAGE_FLAGS.get(i) + "')");
            }
        }
        return "ARRAY(SELECT f.name FROM (VALUES " + String.join(", ", api) + ") f(bit, name) WHERE ("
                + flagsMask(m) + " >> f.bit) & 1 = 1 ORDER BY f.bit)";
    }

    /** The name of the message's sending client (text). */
    public static String sendingClientName(String m) {
        return "(SELECT c.name FROM zerver_client c WHERE c.id = " + m + ".sending_client_id)";
    }

    /**
     * Zulip's recipient_name of message {@code m}: a stream's name, else the full names of the
     * recipient's subscribers sorted, joined by ", " (text).
     */
    public static String recipientName(String m) {
        return "(SELECT CASE WHEN r.type = " + RealmScope.STREAM
                + " THEN (SELECT s.name FROM zerver_stream s WHERE s.id = r.type_id)"
                + " ELSE (SELECT string_agg(u.full_name, ', ' ORDER BY u.full_name) FROM zerver_subscription sub"
                + " JOIN zerver_userprofile u ON u.id = sub.user_profile_id WHERE sub.recipient_id = r.id) END"
                + " FROM zerver_recipient r WHERE r.id = " + m + ".recipient_id)";
    }

    /** Predicate on zerver_attachment alias: the attachments whose files the export carries (the user's own). */
    public String attachmentPredicate(String alias) {
        return alias + ".owner_id = " + userId;
    }

    /** Predicate on zerver_realmemoji alias: the custom emoji whose images the export carries (the user added them). */
    public String emojiPredicate(String alias) {
        return alias + ".author_id = " + userId;
    }

    /** Predicate on zerver_userprofile alias: the users whose avatars the export carries (the user). */
    public String avatarUserPredicate(String alias) {
        return alias + ".id = " + userId;
    }
}
