package org.realmexport.common.db;

import java.util.Map;
import java.util.Set;

/**
 * The few facts about Zulip's export format that database metadata cannot tell, in one place:
 * the columns that must never leave the database, and the fields whose Django name is not the
 * column name. Everything else (which columns exist, which are foreign keys) is discovered;
 * which tables are exported is {@link ZulipTables}.
 */
public final class ExportRules {
    private ExportRules() {
    }

    /**
     * Columns never written to an export file: secrets ({@code api_key}, {@code password}), ids
     * that are useless on another server ({@code uuid}, {@code email_token}), derived data
     * ({@code search_tsvector}), as Zulip's export.py (EXCLUDED_USER_PROFILE_FIELDS, the
     * {@code exclude} of the stream config); and columns that are no field of Zulip's models,
     * which the importer cannot take ({@code Message(**row)} fails on an unknown key): PGroonga
     * installations add {@code zerver_message.search_pgroonga} by raw SQL.
     */
    public static final Map<String, Set<String>> EXCLUDED_COLUMNS = Map.of(
            "zerver_userprofile", Set.of("api_key", "password", "uuid"),
            "zerver_message", Set.of("search_tsvector", "search_pgroonga"),
            "zerver_stream", Set.of("email_token"));

    /** Columns whose export field name differs from what the foreign-key rule gives. */
    public static final Map<String, Map<String, String>> RENAMED_FIELDS = Map.of(
            // the bitmask is exported as flags_mask (export.py fetch_usermessages)
            "zerver_usermessage", Map.of("flags", "flags_mask"),
            // and so is the onboarding one (custom_fetch_onboarding_usermessage)
            "zerver_onboardingusermessage", Map.of("flags", "flags_mask"),
            // NamedUserGroup.realm_for_sharding has db_column="realm_id"; Zulip excludes the
            // parent's "realm" field and writes this one
            "zerver_namedusergroup", Map.of("realm_id", "realm_for_sharding"));

    public static boolean excluded(String table, String column) {
        return EXCLUDED_COLUMNS.getOrDefault(table, Set.of()).contains(column);
    }

    /** The export field name of a column of {@code table}. */
    public static String fieldName(SchemaCatalog.Table table, String column) {
        String renamed = RENAMED_FIELDS.getOrDefault(table.name(), Map.of()).get(column);
        return renamed != null ? renamed : table.djangoName(column);
    }
}
