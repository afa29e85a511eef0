package org.realmexport.common.db;

import org.realmexport.common.ExportType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.EnumMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one export of one realm contains, as SQL sub-selects and predicates: the one place where
 * the producer (which message ids to plan), the config writer (which users, recipients,
 * subscriptions, direct-message groups) and the shard writer (which messages and usermessages)
 * learn the scope, so they cannot disagree.
 *
 * <p>The rules are those of Zulip's {@code export.py} for a full export (type 3):
 * <ul>
 *   <li>users: every user of the realm; mirror dummies go to {@code zerver_userprofile_mirrordummy};
 *       the bots of the system-bot realm ({@code zulipinternal}) are cross-realm users;</li>
 *   <li>recipients: the personal recipients the realm's users (dummies too) are subscribed to, the recipients of
 *       the realm's streams, and the direct-message groups all of whose members are in the realm;</li>
 *   <li>messages: {@code realm_id = R}, sent by a user of the realm or a cross-realm bot to one of
 *       those recipients, or sent by a real user of the realm to a mirror dummy or cross-realm bot;</li>
 *   <li>usermessages: of the exported messages, for the real (non-dummy) users of the realm.</li>
 * </ul>
 * Public and consent exports (types 1, 2) are refused with a clear reason until they are written
 * here, in this class: {@link #supports(ExportType)}.
 *
 * <p>The realm ids are inlined as numeric literals (they are longs, never text), so each fragment
 * can be dropped into any query without parameter bookkeeping.
 *
 * <p>A shard query runs once per 1000 messages, and re-deriving the id sets for each one (the
 * recipient sub-selects over the subscriptions) was most of its database time. {@link #materialized}
 * evaluates the sets a shard needs once, with the same sub-selects, and returns a scope whose
 * {@link #shardPredicate} and {@link #exportedUserIds} read them as constant id lists instead.
 */
public final class RealmScope {
    /** Recipient types of zerver_recipient.type. */
    public static final int PERSONAL = 1;
    public static final int STREAM = 2;
    public static final int DIRECT_MESSAGE_GROUP = 3;

    private static final String NONE = "SELECT NULL::bigint WHERE false";

    /**
     * The system bots an export names as cross-realm users, by the local part of their email
     * (Zulip's INTERNAL_BOTS email templates), with the email the export writes for each, in
     * export order: export.py custom_fetch_user_profile_cross_realm writes these three, under
     * their default emails, whatever the server's INTERNAL_BOT_DOMAIN; the importer maps them
     * to its own bots by that email. Their messages into the realm are exported; other system
     * bots' are not, as in Zulip's export.
     */
    public static final Map<String, String> CROSS_REALM_BOTS = crossRealmBots();

    private static Map<String, String> crossRealmBots() {
        Map<String, String> bots = new LinkedHashMap<>();
        bots.put("notification-bot", "notification-bot@zulip.com");
        bots.put("emailgateway", "emailgateway@zulip.com");
        bots.put("welcome-bot", "welcome-bot@zulip.com");
        return Collections.unmodifiableMap(bots);
    }

    /** The id sets {@link #materialized} evaluates: the ones {@link #shardPredicate} and usermessages use. */
    private enum IdSet { REALM_USERS, EXPORTED_USERS, CROSS_REALM_BOTS, EXPORTED_RECIPIENTS, OTHER_RECIPIENTS }

    private final SchemaCatalog catalog;
    private final long realmId;
    private final ExportType type;
    private final Long systemBotRealmId;
    /** Constant sub-selects replacing the derived ones; empty unless {@link #materialized}. */
    private final Map<IdSet, String> constants;

    private RealmScope(SchemaCatalog catalog, long realmId, ExportType type, Long systemBotRealmId,
                       Map<IdSet, String> constants) {
        this.catalog = catalog;
        this.realmId = realmId;
        this.type = type;
        this.systemBotRealmId = systemBotRealmId;
        this.constants = constants;
    }

    /** Whether this build can export {@code type}. */
    public static boolean supports(ExportType type) {
        return type == ExportType.FULL;
    }

    /**
     * The scope of {@code realmId} for an export of {@code type}.
     *
     * @param systemBotRealm string_id of the realm of the cross-realm system bots ({@code zulipinternal})
     * @throws IllegalArgumentException when the type is not supported (the message says so)
     */
    public static RealmScope resolve(Connection connection, SchemaCatalog catalog, long realmId,
                                     ExportType type, String systemBotRealm) throws SQLException {
        if (!supports(type)) {
            throw new IllegalArgumentException("export type '" + type.cliName()
                    + "' is not supported by this version of realm-export (supported: full)");
        }
        Long botRealm = null;
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id FROM zerver_realm WHERE string_id = ?")) {
            ps.setString(1, systemBotRealm);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    botRealm = rs.getLong(1);
                }
            }
        }
        return new RealmScope(catalog, realmId, type, botRealm != null && botRealm == realmId ? null : botRealm,
                Map.of());
    }

    /**
     * This scope with the id sets of {@link #shardPredicate} and {@link #exportedUserIds}
     * evaluated now, once, by their own sub-selects, and inlined as constant lists: the same
     * rows, at a fraction of the cost per query. The sets are those of this moment; a caller
     * keeps the result for one export (as long as a plan holds), not for ever.
     */
    public RealmScope materialized(Connection connection) throws SQLException {
        Map<IdSet, String> sets = new EnumMap<>(IdSet.class);
        for (IdSet set : IdSet.values()) {
            sets.put(set, constantIds(connection, derived(set)));
        }
        return new RealmScope(catalog, realmId, type, systemBotRealmId, Map.copyOf(sets));
    }

    /** {@code SELECT unnest('{1,2,3}'::bigint[])}: the ids {@code sql} selects, as a constant. */
    private static String constantIds(Connection connection, String sql) throws SQLException {
        StringBuilder list = new StringBuilder("SELECT unnest('{");
        try (PreparedStatement ps = connection.prepareStatement("SELECT DISTINCT x.id FROM (" + sql
                + ") x(id) WHERE x.id IS NOT NULL ORDER BY 1");
             ResultSet rs = ps.executeQuery()) {
            boolean first = true;
            while (rs.next()) {
                list.append(first ? "" : ",").append(rs.getLong(1));
                first = false;
            }
        }
        return list.append("}'::bigint[])").toString();
    }

    private String ids(IdSet set) {
        String constant = constants.get(set);
        return constant != null ? constant : derived(set);
    }

    private String derived(IdSet set) {
        return switch (set) {
            case REALM_USERS -> "SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realmId;
            case EXPORTED_USERS -> "SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realmId
                    + " AND NOT u.is_mirror_dummy";
            case CROSS_REALM_BOTS -> systemBotRealmId == null ? NONE
                    : "SELECT b.id FROM zerver_userprofile b WHERE b.realm_id = " + systemBotRealmId + " AND b.is_bot"
                    + " AND split_part(b.email, '@', 1) IN ('" + String.join("', '", CROSS_REALM_BOTS.keySet()) + "')";
            case EXPORTED_RECIPIENTS -> "SELECT r.id FROM zerver_recipient r WHERE " + recipientPredicate("r");
            // direct messages from a real user to a mirror dummy or a system bot
            case OTHER_RECIPIENTS -> "SELECT r.id FROM zerver_recipient r WHERE r.type = " + PERSONAL
                    + " AND (r.type_id IN (" + crossRealmBotIds() + ") OR r.type_id IN (SELECT d.id FROM"
                    + " zerver_userprofile d WHERE d.realm_id = " + realmId + " AND d.is_mirror_dummy))";
        };
    }

    public long realmId() {
        return realmId;
    }

    public ExportType type() {
        return type;
    }

    /** Every user of the realm, mirror dummies included. */
    public String realmUserIds() {
        return ids(IdSet.REALM_USERS);
    }

    /** The users whose private data (usermessages) is exported: the realm's non-dummy users. */
    public String exportedUserIds() {
        return ids(IdSet.EXPORTED_USERS);
    }

    /**
     * Predicate on a per-user table's user column ({@code t.user_profile_id}): the rows the export
     * carries. A full export carries every user's, mirror dummies' too (Zulip's user-profile
     * children read the ids of both lists).
     *
     * @param privateData whether the rows are a user's private data (Zulip's
     *                    limit_to_consenting_users) rather than public ones (profile values, presence)
     */
    public String userRowsPredicate(String userColumn, boolean privateData) {
        return userColumn + " IN (" + realmUserIds() + ")";
    }

    /** Ids of the cross-realm system bots ({@link #CROSS_REALM_BOTS}; none when the realm is the system-bot realm itself). */
    public String crossRealmBotIds() {
        return ids(IdSet.CROSS_REALM_BOTS);
    }

    /** Personal recipients of the cross-realm bots. */
    public String crossRealmBotRecipientIds() {
        return "SELECT r.id FROM zerver_recipient r WHERE r.type = " + PERSONAL
                + " AND r.type_id IN (" + crossRealmBotIds() + ")";
    }

    /**
     * Personal recipients the realm's users are subscribed to, mirror dummies included: Zulip's
     * importer merges {@code zerver_userprofile_mirrordummy} into {@code zerver_userprofile} and
     * remaps every message's recipient, so a direct message to a dummy needs the dummy's
     * recipient in the export (it is glue data, nothing private).
     */
    public String personalRecipientIds() {
        return "SELECT s.recipient_id FROM zerver_subscription s JOIN zerver_recipient r ON r.id = s.recipient_id"
                + " WHERE r.type = " + PERSONAL + " AND s.user_profile_id IN (" + realmUserIds() + ")";
    }

    /** Recipients of the realm's streams. */
    public String streamRecipientIds() {
        return "SELECT r.id FROM zerver_recipient r WHERE r.type = " + STREAM
                + " AND r.type_id IN (SELECT st.id FROM zerver_stream st WHERE st.realm_id = " + realmId + ")";
    }

    /**
     * Direct-message groups with a member in the realm and none outside it (Zulip drops the
     * others: their members could not be imported).
     */
    public String groupRecipientIds() {
        if (!catalog.hasTable("zerver_huddle")) {
            return NONE;
        }
        return "SELECT DISTINCT s.recipient_id FROM zerver_subscription s"
                + " JOIN zerver_recipient r ON r.id = s.recipient_id"
                + " WHERE r.type = " + DIRECT_MESSAGE_GROUP + " AND s.user_profile_id IN (" + realmUserIds() + ")"
                + " AND NOT EXISTS (SELECT 1 FROM zerver_subscription s2 JOIN zerver_userprofile u2"
                + " ON u2.id = s2.user_profile_id WHERE s2.recipient_id = s.recipient_id AND u2.realm_id <> "
                + realmId + ")";
    }

    /** zerver_huddle ids of {@link #groupRecipientIds()}. */
    public String groupIds() {
        return "SELECT r.type_id FROM zerver_recipient r WHERE r.id IN (" + groupRecipientIds() + ")";
    }

    /** Predicate on zerver_recipient alias {@code t}: the exported recipients. */
    public String recipientPredicate(String alias) {
        return "(" + alias + ".id IN (" + personalRecipientIds() + ") OR " + alias + ".id IN ("
                + streamRecipientIds() + ") OR " + alias + ".id IN (" + groupRecipientIds() + "))";
    }

    /** Predicate on zerver_subscription alias: the personal, stream and group subscriptions. */
    public String subscriptionPredicate(String alias) {
        return "((" + alias + ".user_profile_id IN (" + realmUserIds() + ") AND " + alias
                + ".recipient_id IN (SELECT r.id FROM zerver_recipient r WHERE r.type = " + PERSONAL + "))"
                + " OR " + alias + ".recipient_id IN (" + streamRecipientIds() + ")"
                + " OR " + alias + ".recipient_id IN (" + groupRecipientIds() + "))";
    }

    /**
     * Predicate on zerver_message alias {@code m}: the exportable messages of the realm (no id
     * bounds; callers add the watermark and their id range).
     */
    public String messagePredicate(String m) {
        String realm = catalog.hasColumn("zerver_message", "realm_id") ? m + ".realm_id = " + realmId + " AND " : "";
        String possibleSenders = "(" + m + ".sender_id IN (" + realmUserIds() + ") OR " + m + ".sender_id IN ("
                + crossRealmBotIds() + "))";
        String toExportedRecipient = m + ".recipient_id IN (" + ids(IdSet.EXPORTED_RECIPIENTS) + ")";
        String toOthers = m + ".recipient_id IN (" + ids(IdSet.OTHER_RECIPIENTS) + ")";
        String fromUs = m + ".sender_id IN (" + exportedUserIds() + ")";
        return "(" + realm + "((" + possibleSenders + " AND " + toExportedRecipient + ") OR ("
                + fromUs + " AND " + toOthers + ")))";
    }

    /** Predicate on zerver_scheduledmessage alias: the exported scheduled messages. */
    public String scheduledMessagePredicate(String alias) {
        return alias + ".realm_id = " + realmId;
    }

    /**
     * The exportable message ids in {@code (afterId, watermark]}, ascending, at most {@code limit}:
     * one keyset page. Parameters: afterId, watermark.
     */
    public String messageIdPage(int limit) {
        return "SELECT m.id FROM zerver_message m WHERE " + messagePredicate("m")
                + " AND m.id > ? AND m.id <= ? ORDER BY m.id LIMIT " + limit;
    }

    /** Predicate for one planned shard: alias {@code m}; parameters firstId, lastId, watermark. */
    public String shardPredicate(String m) {
        return messagePredicate(m) + " AND " + m + ".id BETWEEN ? AND ? AND " + m + ".id <= ?";
    }
}
