package org.realmexport.common.db;

import org.realmexport.common.ExportType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What one export of one realm contains, as SQL sub-selects and predicates: the one place where
 * the producer (which message ids to plan), the config writer (which users, recipients,
 * subscriptions, direct-message groups, per-user rows, and how users and subscriptions are
 * scrubbed) and the shard writer (which messages and usermessages) learn the scope, so they
 * cannot disagree.
 *
 * <p>The rules are those of Zulip's {@code export.py} for each export type:
 * <ul>
 *   <li>consent ({@link #consentingUserIds()}): full: every user of the realm; full with consent:
 *       humans and bots with {@code allow_private_data_export}, bots owned by consenting humans, and
 *       mirror dummies ({@code get_consented_user_ids}); public: nobody;</li>
 *   <li>users: every user of the realm. Full with consent turns active non-consenting users into
 *       mirror dummies; public turns users whose email is visible to nobody into inactive mirror
 *       dummies. A non-consenting user gets the realm's default settings (RealmUserDefault) and,
 *       when their email is visible to nobody, a placeholder delivery email
 *       ({@code custom_fetch_user_profile}); their subscriptions keep only their essential fields
 *       ({@code custom_process_subscription_in_realm_config});</li>
 *   <li>recipients: the personal recipients of the realm's users, the recipients of the realm's
 *       streams, and the direct-message groups all of whose members are in the realm (with a
 *       consenting member, for full with consent; none for public);</li>
 *   <li>messages ({@code export_partial_message_files}): sent by a user of the realm or a
 *       cross-realm bot to a recipient "we" received (full: every exported recipient; public:
 *       public streams; consent: public streams and the recipients a consenting user is
 *       subscribed to, except streams with protected history, where only the messages a consenting
 *       user has a usermessage for count), or sent by one of "us" to a user outside "us";</li>
 *   <li>usermessages: of the exported messages, for the users that stay real users (and consent,
 *       for full with consent);</li>
 *   <li>per-user private rows ({@link #PRIVATE_USER_TABLES}), scheduled messages and audit-log
 *       rows about a user: only of consenting users.</li>
 * </ul>
 *
 * <p>The realm ids are inlined as numeric literals (they are longs, never text), so each fragment
 * can be dropped into any query without parameter bookkeeping.
 *
 * <p>A shard query runs once per 1000 messages, and re-deriving the id sets for each one (the
 * recipient sub-selects over the subscriptions) was most of its database time. {@link #materialized}
 * evaluates the sets once, with the same sub-selects, and returns a scope whose predicates read
 * them as constant id lists instead. The predicates of the per-shard queries ({@link #messagePredicate},
 * {@link #userMessageUserPredicate}) test those lists as {@code col::bigint = ANY('{...}'::bigint[])}:
 * PostgreSQL looks such a constant array up in a hash table built once per query, where
 * {@code col IN (SELECT unnest(...))} costs a hashed sub-plan or a hash join on every row
 * (measured over 200 shards of 1000 messages: ~20% less PostgreSQL CPU for the usermessages,
 * ~15% for the messages). The cast matters: an int4 column against a bigint[] is searched linearly.
 */
public final class RealmScope {
    /** Recipient types of zerver_recipient.type. */
    public static final int PERSONAL = 1;
    public static final int STREAM = 2;
    public static final int DIRECT_MESSAGE_GROUP = 3;

    /** UserProfile.role of an organization owner. */
    public static final int ROLE_REALM_OWNER = 100;
    /** UserProfile.email_address_visibility "nobody" (not even administrators see it). */
    public static final int EMAIL_VISIBILITY_NOBODY = 4;

    /**
     * Audit-log events kept whoever they modified (export.py PRESERVED_AUDIT_LOG_EVENT_TYPES:
     * SUBSCRIPTION_CREATED, _ACTIVATED, _DEACTIVATED): the importer rebuilds subscription history from them.
     */
    public static final List<Integer> PRESERVED_AUDIT_LOG_EVENT_TYPES = List.of(301, 302, 303);

    /**
     * Per-user tables whose rows are private to their user (export.py's Configs with
     * {@code limit_to_consenting_users=True}): exported only for consenting users. The other
     * per-user tables (custom profile field values, presence) are public.
     */
    public static final Set<String> PRIVATE_USER_TABLES = Set.of("zerver_service", "zerver_botstoragedata",
            "zerver_botconfigdata", "zerver_alertword", "zerver_muteduser", "zerver_navigationview",
            "zerver_onboardingstep", "zerver_savedsnippet", "zerver_useractivity", "zerver_useractivityinterval",
            "zerver_userstatus", "zerver_usertopic", "zerver_externalauthid");

    /** Zulip's STREAM_ASSIGNMENT_COLORS, for the scrubbed subscriptions of non-consenting users. */
    public static final List<String> STREAM_ASSIGNMENT_COLORS = List.of("#76ce90", "#fae589", "#a6c7e5",
            "#e79ab5", "#bfd56f", "#f4ae55", "#b0a5fd", "#addfe5", "#f5ce6e", "#c2726a", "#94c849", "#bd86e5",
            "#ee7e4a", "#a6dcbf", "#95a5fd", "#53a063", "#9987e1", "#e4523d", "#c2c2c2", "#4f8de4", "#c6a8ad",
            "#e7cc4d", "#c8bebf", "#a47462");

    /** Subscription fields a scrubbed subscription keeps; the others take the model's defaults. */
    private static final Set<String> SUBSCRIPTION_KEPT = Set.of("id", "user_profile_id", "recipient_id", "active",
            "is_user_active", "color");

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

    /** The id sets {@link #materialized} evaluates. */
    private enum IdSet {
        REALM_USERS, CONSENTING, EXPORTED_USERS, USERMESSAGE_USERS, CROSS_REALM_BOTS, EXPORTED_RECIPIENTS,
        MESSAGE_RECIPIENTS, PROTECTED_RECIPIENTS, OTHER_SENDERS, OTHER_RECIPIENTS
    }

    private final SchemaCatalog catalog;
    private final long realmId;
    private final ExportType type;
    private final Long systemBotRealmId;
    /** Constant id arrays ({@code '{1,2,3}'::bigint[]}) replacing the derived sets; empty unless {@link #materialized}. */
    private final Map<IdSet, String> constants;

    private RealmScope(SchemaCatalog catalog, long realmId, ExportType type, Long systemBotRealmId,
                       Map<IdSet, String> constants) {
        this.catalog = catalog;
        this.realmId = realmId;
        this.type = type;
        this.systemBotRealmId = systemBotRealmId;
        this.constants = constants;
    }

    /** Whether this build can export {@code type}: every one of Zulip's types. */
    public static boolean supports(ExportType type) {
        return type != null;
    }

    /**
     * The scope of {@code realmId} for an export of {@code type}.
     *
     * @param systemBotRealm string_id of the realm of the cross-realm system bots ({@code zulipinternal})
     */
    public static RealmScope resolve(Connection connection, SchemaCatalog catalog, long realmId,
                                     ExportType type, String systemBotRealm) throws SQLException {
        if (!supports(type)) {
            throw new IllegalArgumentException("no export type given");
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
     * This scope with its id sets evaluated now, once, by their own sub-selects, and inlined as
     * constant lists: the same rows, at a fraction of the cost per query. The sets are those of
     * this moment; a caller keeps the result for one export (as long as a plan holds), not for ever.
     */
    public RealmScope materialized(Connection connection) throws SQLException {
        Map<IdSet, String> sets = new EnumMap<>(IdSet.class);
        for (IdSet set : IdSet.values()) {
            sets.put(set, constantArray(connection, derived(set)));
        }
        return new RealmScope(catalog, realmId, type, systemBotRealmId, Map.copyOf(sets));
    }

    /** {@code '{1,2,3}'::bigint[]}: the ids {@code sql} selects, as a constant. */
    private static String constantArray(Connection connection, String sql) throws SQLException {
        StringBuilder list = new StringBuilder("'{");
        boolean first = true;
        for (long id : ids(connection, sql)) {
            list.append(first ? "" : ",").append(id);
            first = false;
        }
        return list.append("}'::bigint[]").toString();
    }

    private static List<Long> ids(Connection connection, String sql) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT DISTINCT x.id FROM (" + sql
                + ") x(id) WHERE x.id IS NOT NULL ORDER BY 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    /** A sub-select of the set's ids, for {@code x IN (...)}. */
    private String ids(IdSet set) {
        String constant = constants.get(set);
        return constant != null ? "SELECT unnest(" + constant + ")" : derived(set);
    }

    /** SQL boolean: {@code expression} (an integer column) is one of the set's ids. */
    private String member(String expression, IdSet set) {
        String constant = constants.get(set);
        return constant != null ? expression + "::bigint = ANY(" + constant + ")"
                : expression + " IN (" + derived(set) + ")";
    }

    private String derived(IdSet set) {
        String realmUsers = "SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realmId;
        return switch (set) {
            case REALM_USERS -> realmUsers;
            case CONSENTING -> switch (type) {
                case FULL -> realmUsers;
                case PUBLIC -> NONE;
                // export.py get_consented_user_ids
                case FULL_WITH_CONSENT -> "SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realmId
                        + " AND ((u.allow_private_data_export AND NOT u.is_bot)"
                        + " OR (u.allow_private_data_export AND u.is_bot)"
                        + " OR (u.is_bot AND u.bot_owner_id IN (SELECT h.id FROM zerver_userprofile h WHERE h.realm_id = "
                        + realmId + " AND h.allow_private_data_export AND NOT h.is_bot))"
                        + " OR u.is_mirror_dummy)";
            };
            case EXPORTED_USERS -> realmUsers + " AND NOT " + becomesDummy("u");
            case USERMESSAGE_USERS -> type == ExportType.FULL_WITH_CONSENT
                    ? realmUsers + " AND NOT " + becomesDummy("u") + " AND u.id IN (" + ids(IdSet.CONSENTING) + ")"
                    : ids(IdSet.EXPORTED_USERS);
            case CROSS_REALM_BOTS -> systemBotRealmId == null ? NONE
                    : "SELECT b.id FROM zerver_userprofile b WHERE b.realm_id = " + systemBotRealmId + " AND b.is_bot"
                    + " AND split_part(b.email, '@', 1) IN ('" + String.join("', '", CROSS_REALM_BOTS.keySet()) + "')";
            case EXPORTED_RECIPIENTS -> "SELECT r.id FROM zerver_recipient r WHERE " + recipientPredicate("r");
            case MESSAGE_RECIPIENTS -> switch (type) {
                case FULL -> ids(IdSet.EXPORTED_RECIPIENTS);
                case PUBLIC -> publicStreamRecipientIds();
                // public streams, and what a consenting user is subscribed to but protected history
                case FULL_WITH_CONSENT -> "SELECT r.id FROM zerver_recipient r WHERE r.id IN ("
                        + ids(IdSet.EXPORTED_RECIPIENTS) + ") AND (r.id IN (" + publicStreamRecipientIds()
                        + ") OR (r.id IN (" + consentedSubscriptionRecipientIds() + ") AND r.id NOT IN ("
                        + protectedHistoryRecipientIds() + ")))";
            };
            case PROTECTED_RECIPIENTS -> type != ExportType.FULL_WITH_CONSENT ? NONE
                    : "SELECT r.id FROM zerver_recipient r WHERE r.id IN (" + consentedSubscriptionRecipientIds()
                    + ") AND r.id IN (" + protectedHistoryRecipientIds() + ")";
            // "we" who may have sent direct messages to "them": the real users (full), the consenting ones
            case OTHER_SENDERS -> switch (type) {
                case FULL -> ids(IdSet.EXPORTED_USERS);
                case FULL_WITH_CONSENT -> ids(IdSet.CONSENTING);
                case PUBLIC -> NONE;
            };
            // personal recipients of the possible senders (realm users, cross-realm bots) who are not "we"
            case OTHER_RECIPIENTS -> type == ExportType.PUBLIC ? NONE
                    : "SELECT r.id FROM zerver_recipient r WHERE r.type = " + PERSONAL
                    + " AND (r.type_id IN (" + realmUsers + ") OR r.type_id IN (" + crossRealmBotIds() + "))"
                    + " AND r.type_id NOT IN (" + ids(IdSet.OTHER_SENDERS) + ")";
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

    /**
     * The users whose private data is exported: everyone (full), the consenting users (full with
     * consent), nobody (public).
     */
    public String consentingUserIds() {
        return ids(IdSet.CONSENTING);
    }

    /** The users exported as real users ({@code zerver_userprofile}, not the mirror dummies). */
    public String exportedUserIds() {
        return ids(IdSet.EXPORTED_USERS);
    }

    /** SQL boolean: {@code column} (a usermessage's user) is one whose usermessages are exported. */
    public String userMessageUserPredicate(String column) {
        return member(column, IdSet.USERMESSAGE_USERS);
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

    /** Recipients of the realm's streams (private ones too: their existence is not private to a user). */
    public String streamRecipientIds() {
        return "SELECT r.id FROM zerver_recipient r WHERE r.type = " + STREAM
                + " AND r.type_id IN (SELECT st.id FROM zerver_stream st WHERE st.realm_id = " + realmId + ")";
    }

    private String publicStreamRecipientIds() {
        return "SELECT r.id FROM zerver_recipient r WHERE r.type = " + STREAM
                + " AND r.type_id IN (SELECT st.id FROM zerver_stream st WHERE st.realm_id = " + realmId
                + " AND NOT st.invite_only)";
    }

    private String protectedHistoryRecipientIds() {
        return "SELECT r.id FROM zerver_recipient r WHERE r.type = " + STREAM
                + " AND r.type_id IN (SELECT st.id FROM zerver_stream st WHERE st.realm_id = " + realmId
                + " AND NOT st.history_public_to_subscribers)";
    }

    /** Every recipient a consenting user is (or was) subscribed to. */
    private String consentedSubscriptionRecipientIds() {
        return "SELECT cs.recipient_id FROM zerver_subscription cs WHERE cs.user_profile_id IN ("
                + consentingUserIds() + ")";
    }

    /**
     * Direct-message groups with a member in the realm and none outside it (Zulip drops the
     * others: their members could not be imported); for full with consent only those with a
     * consenting member, for public none ({@code custom_fetch_direct_message_groups}).
     */
    public String groupRecipientIds() {
        if (!catalog.hasTable("zerver_huddle") || type == ExportType.PUBLIC) {
            return NONE;
        }
        String consent = type == ExportType.FULL_WITH_CONSENT
                ? " AND s.recipient_id IN (" + consentedSubscriptionRecipientIds() + ")" : "";
        return "SELECT DISTINCT s.recipient_id FROM zerver_subscription s"
                + " JOIN zerver_recipient r ON r.id = s.recipient_id"
                + " WHERE r.type = " + DIRECT_MESSAGE_GROUP + " AND s.user_profile_id IN (" + realmUserIds() + ")"
                + consent
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
     * Column expressions (over alias {@code t}) replacing the private fields of the subscriptions
     * of non-consenting users: the model's defaults (false, or null where the column allows it),
     * and a color picked from Zulip's palette by the subscription id, where Zulip picks at random,
     * so the same database gives the same export. Empty for a full export.
     */
    public Map<String, String> subscriptionExpressions() {
        Map<String, String> out = new LinkedHashMap<>();
        SchemaCatalog.Table table = catalog.table("zerver_subscription").orElse(null);
        if (type == ExportType.FULL || table == null) {
            return out;
        }
        String consenting = "t.user_profile_id IN (" + consentingUserIds() + ")";
        for (SchemaCatalog.Column c : table.columns()) {
            String scrubbed;
            if (c.name().equals("color")) {
                scrubbed = "('{" + String.join(",", STREAM_ASSIGNMENT_COLORS) + "}'::text[])[1 + (t.id % "
                        + STREAM_ASSIGNMENT_COLORS.size() + ")::int]";
            } else if (SUBSCRIPTION_KEPT.contains(c.name())) {
                continue;
            } else if (c.nullable()) {
                scrubbed = "NULL";
            } else if (c.sqlType().equals("bool")) {
                scrubbed = "false";
            } else {
                continue; // no known default: keep
            }
            out.put(c.name(), "CASE WHEN " + consenting + " THEN t." + ZulipRowWriter.quote(c.name())
                    + " ELSE " + scrubbed + " END");
        }
        return out;
    }

    /** SQL boolean over zerver_userprofile alias {@code u}: exported as a mirror dummy. */
    private String becomesDummy(String u) {
        return switch (type) {
            case FULL -> u + ".is_mirror_dummy";
            case FULL_WITH_CONSENT -> "(" + u + ".is_mirror_dummy OR (" + u + ".is_active AND " + u + ".id NOT IN ("
                    + consentingUserIds() + ")))";
            case PUBLIC -> "(" + u + ".is_mirror_dummy OR " + u + ".email_address_visibility = "
                    + EMAIL_VISIBILITY_NOBODY + ")";
        };
    }

    /**
     * Predicate on zerver_userprofile alias {@code t}: the realm's users exported as real users
     * ({@code dummies} false) or as mirror dummies ({@code zerver_userprofile_mirrordummy}).
     */
    public String userProfilePredicate(String alias, boolean dummies) {
        return alias + ".realm_id = " + realmId + " AND " + (dummies ? "" : "NOT ") + becomesDummy(alias);
    }

    /**
     * Column expressions (over alias {@code t}) of zerver_userprofile that the type rewrites for
     * users who did not consent (export.py custom_fetch_user_profile): is_mirror_dummy and
     * is_active as above, the realm's default settings (every RealmUserDefault column but the
     * email visibility, which is respected), and for a user whose email is visible to nobody a
     * placeholder delivery email {@code exported-user-<32 hex>@<their email's domain>} (Zulip's
     * fake email domain), derived from the realm and user ids where Zulip draws a random token.
     * Empty for a full export.
     */
    public Map<String, String> userProfileExpressions() {
        Map<String, String> out = new LinkedHashMap<>();
        if (type == ExportType.FULL) {
            return out;
        }
        String notConsenting = "t.id NOT IN (" + consentingUserIds() + ")";
        out.put("is_mirror_dummy", becomesDummy("t"));
        out.put("is_active", switch (type) {
            case FULL_WITH_CONSENT -> "(t.is_active AND t.id IN (" + consentingUserIds() + "))";
            default -> "(t.is_active AND t.email_address_visibility <> " + EMAIL_VISIBILITY_NOBODY + ")";
        });
        out.put("delivery_email", "CASE WHEN " + notConsenting + " AND t.email_address_visibility = "
                + EMAIL_VISIBILITY_NOBODY + " THEN " + placeholderEmail("t") + " ELSE t.delivery_email END");
        SchemaCatalog.Table defaults = catalog.table("zerver_realmuserdefault").orElse(null);
        SchemaCatalog.Table users = catalog.table("zerver_userprofile").orElse(null);
        if (defaults != null && users != null) {
            for (SchemaCatalog.Column c : defaults.columns()) {
                String name = c.name();
                if (name.equals("id") || name.equals("realm_id") || name.equals("email_address_visibility")
                        || !users.hasColumn(name) || ExportRules.excluded("zerver_userprofile", name)
                        || out.containsKey(name)) {
                    continue;
                }
                String q = ZulipRowWriter.quote(name);
                out.put(name, "CASE WHEN " + notConsenting + " THEN (SELECT d." + q
                        + " FROM zerver_realmuserdefault d WHERE d.realm_id = " + realmId + " ORDER BY d.id LIMIT 1)"
                        + " ELSE t." + q + " END");
            }
        }
        return out;
    }

    /** The placeholder delivery email of a user whose email is visible to nobody (SQL over {@code u}). */
    public static String placeholderEmail(String u) {
        return "('exported-user-' || md5('realm-export ' || " + u + ".realm_id || ' ' || " + u + ".id) || '@' || "
                + "split_part(" + u + ".email, '@', 2))";
    }

    /**
     * Predicate on a per-user table's user column ({@code t.user_profile_id}): the rows the export
     * carries, of the realm's users (mirror dummies too, as Zulip's user-profile children read the
     * ids of both lists); only of consenting users for a user's private data.
     *
     * @param privateData whether the rows are a user's private data (Zulip's
     *                    limit_to_consenting_users, {@link #PRIVATE_USER_TABLES}) rather than public
     *                    ones (profile values, presence)
     */
    public String userRowsPredicate(String userColumn, boolean privateData) {
        return userColumn + " IN (" + (privateData ? consentingUserIds() : realmUserIds()) + ")";
    }

    /**
     * Predicate on zerver_realmauditlog alias: the realm's rows; for public and consent exports
     * only those about a consenting user, about no user, or of the preserved subscription events.
     */
    public String auditLogPredicate(String alias) {
        String realm = alias + ".realm_id = " + realmId;
        if (type == ExportType.FULL) {
            return realm;
        }
        return realm + " AND (" + alias + ".event_type IN (" + PRESERVED_AUDIT_LOG_EVENT_TYPES.stream()
                .map(String::valueOf).collect(java.util.stream.Collectors.joining(", ")) + ") OR " + alias
                + ".modified_user_id IS NULL OR " + alias + ".modified_user_id IN (" + consentingUserIds() + "))";
    }

    /**
     * Predicate on zerver_message alias {@code m}: the exportable messages of the realm (no id
     * bounds; callers add the watermark and their id range).
     */
    public String messagePredicate(String m) {
        String realm = catalog.hasColumn("zerver_message", "realm_id") ? m + ".realm_id = " + realmId + " AND " : "";
        String sender = m + ".sender_id";
        String recipient = m + ".recipient_id";
        String possibleSenders = "(" + member(sender, IdSet.REALM_USERS) + " OR "
                + member(sender, IdSet.CROSS_REALM_BOTS) + ")";
        StringBuilder any = new StringBuilder("(" + possibleSenders + " AND "
                + member(recipient, IdSet.MESSAGE_RECIPIENTS) + ")");
        if (type == ExportType.FULL_WITH_CONSENT) {
            any.append(" OR (").append(possibleSenders).append(" AND ")
                    .append(member(recipient, IdSet.PROTECTED_RECIPIENTS))
                    .append(" AND EXISTS (SELECT 1 FROM zerver_usermessage cu WHERE cu.message_id = ").append(m)
                    .append(".id AND ").append(member("cu.user_profile_id", IdSet.CONSENTING)).append("))");
        }
        if (type != ExportType.PUBLIC) {
            any.append(" OR (").append(member(sender, IdSet.OTHER_SENDERS)).append(" AND ")
                    .append(member(recipient, IdSet.OTHER_RECIPIENTS)).append(")");
        }
        return "(" + realm + "(" + any + "))";
    }

    /**
     * Predicate on zerver_scheduledmessage alias: the exported scheduled messages, which are
     * private to their sender (export.py get_exportable_scheduled_message_ids).
     */
    public String scheduledMessagePredicate(String alias) {
        return switch (type) {
            case FULL -> alias + ".realm_id = " + realmId;
            case FULL_WITH_CONSENT -> alias + ".realm_id = " + realmId + " AND " + alias + ".sender_id IN ("
                    + consentingUserIds() + ")";
            case PUBLIC -> "false";
        };
    }

    /**
     * Why an export of this type would leave the imported organization without a usable owner,
     * or empty when it would not (export.py check_public_export_is_usable,
     * check_export_with_consent_is_usable).
     */
    public Optional<String> unusableReason(Connection connection) throws SQLException {
        String owners = "SELECT u.id FROM zerver_userprofile u WHERE u.realm_id = " + realmId + " AND u.role = "
                + ROLE_REALM_OWNER;
        return switch (type) {
            case FULL -> Optional.empty();
            case PUBLIC -> ids(connection, owners + " AND u.email_address_visibility <> " + EMAIL_VISIBILITY_NOBODY)
                    .isEmpty() ? Optional.of("no owner of realm " + realmId + " has an email address visible to"
                    + " anyone, so a public export would hold no usable owner account (the importer needs one); an"
                    + " owner must make their email visible to at least administrators, or export another type")
                    : Optional.empty();
            case FULL_WITH_CONSENT -> ids(connection, owners + " AND u.id IN (" + consentingUserIds() + ")")
                    .isEmpty() ? Optional.of("no owner of realm " + realmId + " allows the export of their private"
                    + " data, so a full export with consent would hold no usable owner account (non-consenting users"
                    + " become deactivated mirror dummies); an owner must enable it, or export another type")
                    : Optional.empty();
        };
    }

    /** The consenting user ids, evaluated now, ascending. */
    public List<Long> consentingUsers(Connection connection) throws SQLException {
        return ids(connection, consentingUserIds());
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
