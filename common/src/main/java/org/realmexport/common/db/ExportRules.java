package org.realmexport.common.db;

import java.util.Map;
import java.util.Set;

/**
 * The few facts about Zulip's export format that database metadata cannot tell, in one place:
 * the columns that must never leave the database, and the fields whose Django name is not the
 * column name. Everything else (which columns exist, which are foreign keys) is discovered.
 */
public final class ExportRules {
    private ExportRules() {
    }

    /**
     * Columns never written to an export file: secrets ({@code api_key}, {@code password}), ids
     * that are useless on another server ({@code uuid}, {@code email_token}), and derived data
     * ({@code search_tsvector}). As Zulip's export.py (EXCLUDED_USER_PROFILE_FIELDS, the
     * {@code exclude} of the stream config).
     */
    public static final Map<String, Set<String>> EXCLUDED_COLUMNS = Map.of(
            "zerver_userprofile", Set.of("api_key", "password", "uuid"),
            "zerver_message", Set.of("search_tsvector"),
            "zerver_stream", Set.of("email_token"));

    /** Columns whose export field name differs from what the foreign-key rule gives. */
    public static final Map<String, Map<String, String>> RENAMED_FIELDS = Map.of(
            // the bitmask is exported as flags_mask (export.py fetch_usermessages)
            "zerver_usermessage", Map.of("flags", "flags_mask"),
            // NamedUserGroup.realm_for_sharding has db_column="realm_id"; Zulip excludes the
            // parent's "realm" field and writes this one
            "zerver_namedusergroup", Map.of("realm_id", "realm_for_sharding"));

    /**
     * Tables Zulip deliberately leaves out of an export (export.py NON_EXPORTED_TABLES), for
     * checks and for readers of this code; the writers export only the tables they name.
     */
    public static final Set<String> NON_EXPORTED_TABLES = Set.of(
            "zerver_emailchangestatus", "zerver_multiuseinvite", "zerver_multiuseinvite_streams",
            "zerver_preregistrationrealm", "zerver_preregistrationuser",
            "zerver_preregistrationuser_streams", "zerver_realmreactivationstatus",
            "zerver_missedmessageemailaddress", "zerver_scheduledmessagenotificationemail",
            "zerver_pushdevicetoken", "zerver_userprofile_groups", "zerver_userprofile_user_permissions",
            "zerver_scheduledemail", "zerver_scheduledemail_users", "two_factor_phonedevice",
            "otp_static_staticdevice", "otp_static_statictoken", "otp_totp_totpdevice",
            "zerver_archivedmessage", "zerver_archivedusermessage", "zerver_archivedattachment",
            "zerver_archivedattachment_messages", "zerver_archivedreaction",
            "zerver_archivedsubmessage", "zerver_archivetransaction", "social_auth_association",
            "social_auth_code", "social_auth_nonce", "social_auth_partial",
            "social_auth_usersocialauth", "analytics_installationcount", "analytics_fillstate",
            "zerver_defaultstreamgroup", "zerver_defaultstreamgroup_streams", "zerver_submessage",
            "zerver_draft");

    public static boolean excluded(String table, String column) {
        return EXCLUDED_COLUMNS.getOrDefault(table, Set.of()).contains(column);
    }

    /** The export field name of a column of {@code table}. */
    public static String fieldName(SchemaCatalog.Table table, String column) {
        String renamed = RENAMED_FIELDS.getOrDefault(table.name(), Map.of()).get(column);
        return renamed != null ? renamed : table.djangoName(column);
    }
}
