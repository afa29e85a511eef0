package org.realmexport.common.db;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every table of Zulip's schema and what an export does with it, as Zulip's export.py classifies
 * them (ALL_ZULIP_TABLES, NON_EXPORTED_TABLES with the reason of each, IMPLICIT_TABLES,
 * MESSAGE_TABLES, ATTACHMENT_TABLES, ANALYTICS_TABLES): the one list in this code.
 *
 * <p>The producer holds the database's catalog against it when it plans an export: a table of
 * Zulip's schema (the prefixes of {@link #ZULIP_PREFIXES}) that is not listed here belongs to a
 * newer Zulip than this build knows, and exporting without it would lose its rows silently, so
 * the export fails naming it unless the operator lists it in {@code tables.skip}.
 */
public final class ZulipTables {
    /** Where a table's rows go. */
    public enum Destination {
        /** realm.json (the config tree; zerver_client is added by the assembler). */
        REALM_JSON,
        /** analytics.json. */
        ANALYTICS_JSON,
        /** messages-NNNNNN.json, and zerver_reaction in realm.json once the messages are known. */
        MESSAGE_FILES,
        /** attachment.json. */
        ATTACHMENT_JSON,
        /** a many-to-many table written as an id list of its parent's rows. */
        IMPLICIT,
        /** deliberately left out; {@link Table#reason()} says why. */
        NOT_EXPORTED
    }

    /** One table and its destination; {@code reason} is set for {@link Destination#NOT_EXPORTED}. */
    public record Table(String name, Destination destination, String reason) {
        public boolean exported() {
            return destination != Destination.NOT_EXPORTED;
        }
    }

    /** Table-name prefixes of the apps whose tables Zulip's export classifies. */
    public static final List<String> ZULIP_PREFIXES = List.of("zerver_", "analytics_", "otp_", "two_factor_",
            "social_auth_");

    private static final String INVITES = "invitation and confirmation flows: their links break with the server's URL anyway";
    private static final String TWO_FACTOR = "two-factor authentication is set up again on the new server";
    private static final String ARCHIVE = "archive of the retention policy, kept only to undo its bugs";
    private static final String SOCIAL_AUTH = "social-auth state is used only within one login flow";
    private static final String DJANGO_M2M = "Django's generated permission tables, unused by Zulip";
    private static final String UNFINISHED = "an unfinished feature (Zulip exports it once it is released)";

    private static final Map<String, Table> TABLES = new TreeMap<>();

    static {
        for (String t : List.of("zerver_realm", "zerver_realmauthenticationmethod", "zerver_presencesequence",
                "zerver_scheduledmessage", "zerver_defaultstream", "zerver_customprofilefield", "zerver_realmauditlog",
                "zerver_realmemoji", "zerver_realmdomain", "zerver_realmexport", "zerver_realmfilter",
                "zerver_realmplayground", "zerver_realmuserdefault", "zerver_onboardingusermessage",
                "zerver_userprofile", "zerver_usergroup", "zerver_namedusergroup", "zerver_usergroupmembership",
                "zerver_groupgroupmembership", "zerver_service", "zerver_botstoragedata", "zerver_botconfigdata",
                "zerver_stream", "zerver_recipient", "zerver_subscription", "zerver_huddle", "zerver_channelfolder",
                "zerver_alertword", "zerver_customprofilefieldvalue", "zerver_muteduser", "zerver_navigationview",
                "zerver_onboardingstep", "zerver_savedsnippet", "zerver_useractivity", "zerver_useractivityinterval",
                "zerver_userpresence", "zerver_userstatus", "zerver_usertopic", "zerver_externalauthid",
                "zerver_client")) {
            put(t, Destination.REALM_JSON, null);
        }
        for (String t : List.of("analytics_realmcount", "analytics_streamcount", "analytics_usercount")) {
            put(t, Destination.ANALYTICS_JSON, null);
        }
        for (String t : List.of("zerver_message", "zerver_usermessage", "zerver_reaction")) {
            put(t, Destination.MESSAGE_FILES, null);
        }
        put("zerver_attachment", Destination.ATTACHMENT_JSON, null);
        put("zerver_attachment_messages", Destination.IMPLICIT, null);
        put("zerver_attachment_scheduled_messages", Destination.IMPLICIT, null);

        for (String t : List.of("zerver_emailchangestatus", "zerver_multiuseinvite", "zerver_multiuseinvite_streams",
                "zerver_multiuseinvite_groups", "zerver_preregistrationrealm", "zerver_preregistrationuser",
                "zerver_preregistrationuser_streams", "zerver_preregistrationuser_groups",
                "zerver_realmreactivationstatus")) {
            skip(t, INVITES);
        }
        skip("zerver_missedmessageemailaddress", "missed-message reply addresses name the old host and expire in days");
        skip("zerver_scheduledmessagenotificationemail", "the server's own bookkeeping of reminder emails");
        skip("zerver_pushdevice", "clients register for push notifications again on the new server");
        skip("zerver_pushdevicetoken", "clients register for push notifications again on the new server");
        skip("zerver_userprofile_groups", DJANGO_M2M);
        skip("zerver_userprofile_user_permissions", DJANGO_M2M);
        skip("zerver_scheduledemail", "scheduled future emails: low value");
        skip("zerver_scheduledemail_users", "scheduled future emails: low value");
        for (String t : List.of("two_factor_phonedevice", "otp_static_staticdevice", "otp_static_statictoken",
                "otp_totp_totpdevice")) {
            skip(t, TWO_FACTOR);
        }
        for (String t : List.of("zerver_archivedmessage", "zerver_archivedusermessage", "zerver_archivedattachment",
                "zerver_archivedattachment_messages", "zerver_archivedreaction", "zerver_archivedsubmessage",
                "zerver_archivetransaction")) {
            skip(t, ARCHIVE);
        }
        for (String t : List.of("social_auth_association", "social_auth_code", "social_auth_nonce",
                "social_auth_partial", "social_auth_usersocialauth")) {
            skip(t, SOCIAL_AUTH);
        }
        skip("analytics_installationcount", "a total over every realm of the server");
        skip("analytics_fillstate", "the server's own progress of the analytics jobs");
        skip("zerver_defaultstreamgroup", UNFINISHED);
        skip("zerver_defaultstreamgroup_streams", UNFINISHED);
        skip("zerver_submessage", UNFINISHED);
        skip("zerver_draft", "drafts are ephemeral");
        skip("zerver_imageattachment", "the importer checks and thumbnails images itself");
        skip("zerver_channelemailaddress", "channel email addresses name the old host");
    }

    private ZulipTables() {
    }

    private static void put(String table, Destination destination, String reason) {
        if (TABLES.put(table, new Table(table, destination, reason)) != null) {
            throw new ExceptionInInitializerError(table + " classified twice");
        }
    }

    private static void skip(String table, String reason) {
        put(table, Destination.NOT_EXPORTED, reason);
    }

    /** Every classified table, by name. */
    public static Map<String, Table> all() {
        return Collections.unmodifiableMap(TABLES);
    }

    public static Optional<Table> classify(String table) {
        return Optional.ofNullable(TABLES.get(table));
    }

    /** The tables of one destination, sorted. */
    public static Set<String> tables(Destination destination) {
        Set<String> out = new TreeSet<>();
        TABLES.values().stream().filter(t -> t.destination() == destination).forEach(t -> out.add(t.name()));
        return out;
    }

    /** Whether {@code table} belongs to one of the apps Zulip's export classifies. */
    public static boolean inZulipSchema(String table) {
        return ZULIP_PREFIXES.stream().anyMatch(table::startsWith);
    }

    /** The tables of {@code tableNames} in Zulip's schema that are not classified, sorted. */
    public static List<String> unknown(Collection<String> tableNames) {
        List<String> out = new ArrayList<>();
        new TreeSet<>(tableNames).stream().filter(ZulipTables::inZulipSchema).filter(t -> !TABLES.containsKey(t))
                .forEach(out::add);
        return out;
    }

    /** The FAILED reason of an export that meets {@code unknown} tables the operator did not skip. */
    public static String unknownTablesError(Collection<String> unknown) {
        return "this database has tables realm-export does not know: " + String.join(", ", unknown)
                + "; upgrade realm-export, or list them in `tables.skip` to export without them";
    }
}
