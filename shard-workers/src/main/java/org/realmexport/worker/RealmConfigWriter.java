package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.db.ZulipTables;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.TaskResult;

import java.io.IOException;
import java.nio.file.Path;
import org.realmexport.common.storage.ExportStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Writes the REALM_CONFIG task's files: {@code realm.json} (the config tree of one realm, top-down
 * from {@code zerver_realm}, as Zulip's {@code get_realm_config}), {@code analytics.json} and
 * {@code migration_status.json}.
 *
 * <p>Picky and paranoid, as Zulip's exporter: after the tree is written (and before the file is
 * published) every foreign-key value that points at a table of realm.json must be the id of an
 * exported row (or of a cross-realm system bot); otherwise the task fails with an anomaly naming
 * the table, the column and the ids. {@code zerver_reaction} and {@code zerver_client} are left
 * to the assembler, which knows every exported message; the client ids the config rows use are
 * reported instead.
 */
final class RealmConfigWriter {
    /** What the config task wrote, for its task result. */
    record Outcome(Map<String, TaskResult.FileInfo> files, Map<String, Long> rows,
                   Map<Long, List<Long>> scheduledAttachments, List<Long> clients) {
    }

    /** Keys the importer reads unconditionally: written as [] when the table does not exist. */
    static final Set<String> REQUIRED_KEYS = Set.of("zerver_realm", "zerver_userprofile",
            "zerver_userprofile_mirrordummy", "zerver_stream", "zerver_huddle",
            "zerver_realmauthenticationmethod", "zerver_defaultstream", "zerver_realmemoji",
            "zerver_realmdomain", "zerver_realmfilter", "zerver_realmplayground", "zerver_recipient",
            "zerver_subscription", "zerver_userpresence", "zerver_useractivity",
            "zerver_useractivityinterval", "zerver_customprofilefield", "zerver_customprofilefieldvalue");

    static final Set<String> ANALYTICS_TABLES = ZulipTables.tables(ZulipTables.Destination.ANALYTICS_JSON);

    /** One key of realm.json: the table it comes from, which rows, and any writer adjustment. */
    private record Part(String key, String table, Function<RealmScope, String> where,
                        Function<Ctx, ZulipRowWriter> customize) {
    }

    /** What a customization may need. */
    private record Ctx(ZulipRowWriter writer, RealmScope scope, SchemaCatalog catalog) {
    }

    /**
     * The row rules of every realm.json table, in the order of Zulip's config tree: which rows of
     * the table belong to the export, as a {@link RealmScope} predicate over alias {@code t}. The
     * tables are those {@link ZulipTables} sends to realm.json (but zerver_client, which the
     * assembler writes once the messages are known); a test holds the two lists equal.
     */
    private static final List<Part> PARTS = List.of(
            part("zerver_realm", s -> "t.id = " + s.realmId()),
            byRealm("zerver_realmauthenticationmethod"),
            byRealm("zerver_presencesequence"),
            part("zerver_scheduledmessage", s -> s.scheduledMessagePredicate("t")),
            byRealm("zerver_defaultstream"),
            byRealm("zerver_customprofilefield"),
            // an acting user of another realm (a server administrator) cannot be imported: Zulip
            // writes null (custom_fetch_realm_audit_logs_for_realm)
            new Part("zerver_realmauditlog", "zerver_realmauditlog", s -> s.auditLogPredicate("t"),
                    c -> c.writer().hasField("acting_user") ? c.writer().withExpression("acting_user_id",
                            "CASE WHEN t.acting_user_id IN (" + c.scope().realmUserIds() + ") THEN t.acting_user_id END")
                            : c.writer()),
            byRealm("zerver_realmemoji"),
            byRealm("zerver_realmdomain"),
            byRealm("zerver_realmexport"),
            byRealm("zerver_realmfilter"),
            byRealm("zerver_realmplayground"),
            byRealm("zerver_realmuserdefault"),
            // flags written as flags_mask (ExportRules.RENAMED_FIELDS), as usermessages
            byRealm("zerver_onboardingusermessage"),
            new Part("zerver_userprofile", "zerver_userprofile",
                    s -> s.userProfilePredicate("t", false), RealmConfigWriter::userProfiles),
            new Part("zerver_userprofile_mirrordummy", "zerver_userprofile",
                    s -> s.userProfilePredicate("t", true), RealmConfigWriter::userProfiles),
            byRealm("zerver_usergroup"),
            byRealm("zerver_namedusergroup"),
            part("zerver_usergroupmembership", s -> "t.user_group_id IN (SELECT g.id FROM zerver_usergroup g WHERE g.realm_id = " + s.realmId() + ")"),
            part("zerver_groupgroupmembership", s -> "t.supergroup_id IN (SELECT g.id FROM zerver_usergroup g WHERE g.realm_id = " + s.realmId() + ")"),
            byUser("zerver_service", "user_profile_id", true),
            byUser("zerver_botstoragedata", "bot_profile_id", true),
            byUser("zerver_botconfigdata", "bot_profile_id", true),
            byRealm("zerver_stream"),
            part("zerver_huddle", s -> "t.id IN (" + s.groupIds() + ")"),
            part("zerver_recipient", s -> s.recipientPredicate("t")),
            new Part("zerver_subscription", "zerver_subscription", s -> s.subscriptionPredicate("t"),
                    c -> rewritten(c.writer(), c.scope().subscriptionExpressions())),
            byRealm("zerver_channelfolder"),
            // Zulip's add_user_profile_child_configs; "private" is its limit_to_consenting_users
            byUser("zerver_alertword", "user_profile_id", true),
            byUser("zerver_customprofilefieldvalue", "user_profile_id", false),
            byUser("zerver_muteduser", "user_profile_id", true),
            byUser("zerver_navigationview", "user_id", true),
            byUser("zerver_onboardingstep", "user_id", true),
            byUser("zerver_savedsnippet", "user_profile_id", true),
            byUser("zerver_useractivity", "user_profile_id", true),
            byUser("zerver_useractivityinterval", "user_profile_id", true),
            byUser("zerver_userpresence", "user_profile_id", false),
            byUser("zerver_userstatus", "user_profile_id", true),
            byUser("zerver_usertopic", "user_profile_id", true),
            byUser("zerver_externalauthid", "user_id", true));

    /** Tables of realm.json that are not a {@link Part}: written by the assembler or by hand. */
    static final Set<String> WRITTEN_ELSEWHERE = Set.of("zerver_client", "zerver_reaction", "zerver_userprofile_crossrealm");

    /** The tables the parts read, for the test that holds them equal to {@link ZulipTables}. */
    static Set<String> partTables() {
        return PARTS.stream().map(Part::table).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
    }

    private static Part part(String table, Function<RealmScope, String> where) {
        return new Part(table, table, where, Ctx::writer);
    }

    private static Part byRealm(String table) {
        return part(table, s -> "t.realm_id = " + s.realmId());
    }

    /**
     * A table of per-user rows: those of the realm's users (mirror dummies too, as Zulip's
     * user-profile children take the ids of both lists) that the scope exports.
     *
     * @param privateData whether the rows are a user's private data (Zulip's
     *                    limit_to_consenting_users), as opposed to public ones (profile values, presence)
     */
    private static Part byUser(String table, String userColumn, boolean privateData) {
        return part(table, s -> s.userRowsPredicate("t." + userColumn, privateData));
    }

    /** Users with their many-to-many lists, rewritten as the export type says (consent, hidden emails). */
    private static ZulipRowWriter userProfiles(Ctx c) {
        return rewritten(withUserLists(c), c.scope().userProfileExpressions());
    }

    /** The writer with the scope's column expressions (for the columns the table has). */
    private static ZulipRowWriter rewritten(ZulipRowWriter writer, Map<String, String> expressions) {
        for (Map.Entry<String, String> e : expressions.entrySet()) {
            if (writer.table().hasColumn(e.getKey())) {
                writer = writer.withExpression(e.getKey(), e.getValue());
            }
        }
        return writer;
    }

    private static ZulipRowWriter withUserLists(Ctx c) {
        return withUserLists(c.writer(), c.catalog());
    }

    /** UserProfile's many-to-many fields from Django's link tables, [] where they do not exist. */
    static ZulipRowWriter withUserLists(ZulipRowWriter w, SchemaCatalog catalog) {
        for (String[] m2m : new String[][] {{"groups", "zerver_userprofile_groups"},
                {"user_permissions", "zerver_userprofile_user_permissions"}}) {
            SchemaCatalog.Table link = catalog.table(m2m[1]).orElse(null);
            if (link == null) {
                w = w.withField(m2m[0], "ARRAY[]::bigint[]", "_int8");
            } else {
                String owner = MessageShardWriter.columnReferencing(link, "zerver_userprofile");
                String value = link.foreignKeys().keySet().stream().filter(k -> !k.equals(owner)).findFirst()
                        .orElseThrow(() -> new IllegalStateException(link.name() + " has one foreign key"));
                w = w.withIdList(m2m[0], m2m[1], owner, value);
            }
        }
        return w;
    }

    private final SchemaCatalog catalog;
    private final String zulipVersion;
    private final Path migrationStatusFile;

    RealmConfigWriter(SchemaCatalog catalog, String zulipVersion) {
        this(catalog, zulipVersion, null);
    }

    /** @param migrationStatusFile a migration_status.json from the Zulip server to copy, or null to derive one */
    RealmConfigWriter(SchemaCatalog catalog, String zulipVersion, Path migrationStatusFile) {
        this.catalog = catalog;
        this.zulipVersion = zulipVersion;
        this.migrationStatusFile = migrationStatusFile;
    }

    Outcome write(Connection connection, RealmScope scope, ExportTask task, ExportStore exportDir,
                  BooleanSupplier cancelled) throws SQLException, IOException, TaskAnomaly {
        Map<String, TaskResult.FileInfo> files = new TreeMap<>();
        Map<String, Long> rows = new LinkedHashMap<>();
        ReferenceCheck check = new ReferenceCheck(PARTS.stream().map(Part::table)
                .filter(catalog::hasTable).collect(java.util.stream.Collectors.toSet()));
        try (ExportFile file = ExportFile.create(exportDir, "realm.json")) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            for (Part part : PARTS) {
                SchemaCatalog.Table table = catalog.table(part.table()).orElse(null);
                if (table == null) {
                    if (REQUIRED_KEYS.contains(part.key())) {
                        g.writeArrayFieldStart(part.key());
                        g.writeEndArray();
                        rows.put(part.key(), 0L);
                    }
                    continue;
                }
                ZulipRowWriter writer = part.customize().apply(new Ctx(ZulipRowWriter.forTable(table), scope, catalog));
                ZulipRowWriter.RowVisitor visitor = check.visitor(writer, cancelled);
                rows.put(part.key(), writer.writeList(g, part.key(), connection, part.where().apply(scope), List.of(), visitor));
            }
            rows.put("zerver_userprofile_crossrealm", writeCrossRealm(g, connection, scope, check));
            g.writeStringField("import_source", "zulip");
            g.writeEndObject();
            check.verify(scope.realmId());
            files.put("realm.json", file.publish());
        }
        writeAnalytics(connection, scope, exportDir, files, rows);
        writeMigrationStatus(connection, exportDir, files);
        return new Outcome(files, rows, scheduledAttachments(connection, scope), List.copyOf(check.clients));
    }

    /**
     * {@code [{email, id, recipient_id}]} of the cross-realm system bots, as Zulip's
     * custom_fetch_user_profile_cross_realm writes them: the three of {@link RealmScope#CROSS_REALM_BOTS},
     * each under its default email (the importer maps them by it to its own bots), with its id and
     * its personal recipient, sorted by id like every list of realm.json.
     */
    private long writeCrossRealm(JsonGenerator g, Connection connection, RealmScope scope, ReferenceCheck check)
            throws SQLException, IOException {
        Map<String, long[]> bots = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT split_part(b.email, '@', 1), b.id,"
                + " (SELECT r.id FROM zerver_recipient r WHERE r.type = " + RealmScope.PERSONAL + " AND r.type_id = b.id"
                + " ORDER BY r.id LIMIT 1) FROM zerver_userprofile b WHERE b.id IN (" + scope.crossRealmBotIds()
                + ") ORDER BY b.id");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long recipient = rs.getLong(3);
                bots.putIfAbsent(rs.getString(1), new long[] {rs.getLong(2), rs.wasNull() ? -1 : recipient});
            }
        }
        // write_table_data sorts every list of realm.json by id
        TreeMap<Long, String> byId = new TreeMap<>();
        RealmScope.CROSS_REALM_BOTS.forEach((localPart, email) -> {
            long[] found = bots.get(localPart);
            if (found != null) { // else not on this server (Zulip's export would stop here)
                byId.put(found[0], localPart);
            }
        });
        g.writeArrayFieldStart("zerver_userprofile_crossrealm");
        long n = 0;
        for (String localPart : byId.values()) {
            long[] found = bots.get(localPart);
            g.writeStartObject();
            g.writeStringField("email", RealmScope.CROSS_REALM_BOTS.get(localPart));
            g.writeNumberField("id", found[0]);
            if (found[1] < 0) {
                g.writeNullField("recipient_id");
            } else {
                g.writeNumberField("recipient_id", found[1]);
                check.allow("zerver_recipient", found[1]);
            }
            g.writeEndObject();
            check.allow("zerver_userprofile", found[0]);
            n++;
        }
        g.writeEndArray();
        return n;
    }

    private void writeAnalytics(Connection connection, RealmScope scope, ExportStore exportDir,
                                Map<String, TaskResult.FileInfo> files, Map<String, Long> rows)
            throws SQLException, IOException {
        try (ExportFile file = ExportFile.create(exportDir, "analytics.json")) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            for (String name : ANALYTICS_TABLES) {
                SchemaCatalog.Table table = catalog.table(name).orElse(null);
                if (table == null) {
                    g.writeArrayFieldStart(name);
                    g.writeEndArray();
                    rows.put(name, 0L);
                } else {
                    rows.put(name, ZulipRowWriter.forTable(table).writeList(g, name, connection,
                            "t.realm_id = " + scope.realmId(), List.of(), null));
                }
            }
            g.writeEndObject();
            files.put("analytics.json", file.publish());
        }
    }

    /**
     * {@code {"migrations_by_app": {app: ["[X] name", ...]}, "zulip_version": V}}, as Zulip's
     * showmigrations-based writer prints it for the applied migrations ({@link MigrationStatus}).
     */
    private void writeMigrationStatus(Connection connection, ExportStore exportDir, Map<String, TaskResult.FileInfo> files)
            throws SQLException, IOException {
        if (migrationStatusFile != null) {
            copyMigrationStatus(exportDir, files);
            return;
        }
        List<String> applied = new ArrayList<>();
        if (catalog.hasTable("django_migrations")) {
            try (PreparedStatement ps = connection.prepareStatement("SELECT app, name FROM django_migrations ORDER BY id");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    applied.add(rs.getString(1) + "." + rs.getString(2));
                }
            }
        }
        try (ExportFile file = ExportFile.create(exportDir, "migration_status.json")) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            g.writeObjectFieldStart("migrations_by_app");
            for (Map.Entry<String, List<String>> app : MigrationStatus.byApp(applied).entrySet()) {
                g.writeArrayFieldStart(app.getKey());
                for (String line : app.getValue()) {
                    g.writeString(line);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeStringField("zulip_version", zulipVersion);
            g.writeEndObject();
            files.put("migration_status.json", file.publish());
        }
    }

    /** The operator's file, checked for the two keys the importer reads, re-emitted compactly. */
    private void copyMigrationStatus(ExportStore exportDir, Map<String, TaskResult.FileInfo> files) throws IOException {
        com.fasterxml.jackson.databind.JsonNode status = org.realmexport.common.Json.MAPPER.readTree(migrationStatusFile.toFile());
        if (status == null || !status.path("migrations_by_app").isObject() || !status.path("zulip_version").isTextual()) {
            throw new IOException(migrationStatusFile + " is not a Zulip migration_status.json"
                    + " (needs migrations_by_app and zulip_version)");
        }
        try (ExportFile file = ExportFile.create(exportDir, "migration_status.json")) {
            JsonGenerator g = file.json();
            g.setCodec(org.realmexport.common.Json.MAPPER);
            g.writeTree(status);
            files.put("migration_status.json", file.publish());
        }
    }

    /** Attachment id to the exported scheduled message ids that link it. */
    private Map<Long, List<Long>> scheduledAttachments(Connection connection, RealmScope scope) throws SQLException {
        Map<Long, List<Long>> out = new TreeMap<>();
        SchemaCatalog.Table link = catalog.table("zerver_attachment_scheduled_messages").orElse(null);
        if (link == null || !catalog.hasTable("zerver_scheduledmessage")) {
            return out;
        }
        String att = ZulipRowWriter.quote(MessageShardWriter.columnReferencing(link, "zerver_attachment"));
        String sm = ZulipRowWriter.quote(MessageShardWriter.columnReferencing(link, "zerver_scheduledmessage"));
        try (PreparedStatement ps = connection.prepareStatement("SELECT " + att + ", " + sm
                + " FROM zerver_attachment_scheduled_messages WHERE " + sm
                + " IN (SELECT t.id FROM zerver_scheduledmessage t WHERE " + scope.scheduledMessagePredicate("t")
                + ") ORDER BY 1, 2");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getLong(2));
            }
        }
        return out;
    }

    /**
     * Collects the ids of the exported rows of every table something points at, and the values
     * of every foreign key into such a table; {@link #verify()} fails on the first dangling one.
     */
    private final class ReferenceCheck {
        private final Set<String> exportedTables;
        private final Set<String> referenced = new HashSet<>();
        private final Map<String, Set<Long>> ids = new HashMap<>();
        private final Map<String, Set<Long>> allowed = new HashMap<>();
        /** "table.column" to the values seen, in order of first appearance of the column. */
        private final Map<String, Set<Long>> refs = new LinkedHashMap<>();
        private final Map<String, String> refTarget = new HashMap<>();
        final TreeSet<Long> clients = new TreeSet<>();

        ReferenceCheck(Set<String> exportedTables) {
            this.exportedTables = exportedTables;
            for (String t : exportedTables) {
                catalog.require(t).foreignKeys().values().stream().filter(exportedTables::contains).forEach(referenced::add);
            }
        }

        void allow(String table, long id) {
            allowed.computeIfAbsent(table, k -> new HashSet<>()).add(id);
        }

        ZulipRowWriter.RowVisitor visitor(ZulipRowWriter writer, BooleanSupplier cancelled) {
            SchemaCatalog.Table table = writer.table();
            int idIndex = referenced.contains(table.name()) && writer.hasField("id") ? writer.indexOf("id") : -1;
            Set<Long> idSet = idIndex > 0 ? ids.computeIfAbsent(table.name(), k -> new HashSet<>()) : null;
            List<int[]> fkIndexes = new ArrayList<>();
            List<Set<Long>> fkSets = new ArrayList<>();
            for (Map.Entry<String, String> fk : table.foreignKeys().entrySet()) {
                String field = org.realmexport.common.db.ExportRules.fieldName(table, fk.getKey());
                if (!writer.hasField(field) || isDenormalizedRecipient(table, fk.getKey())) {
                    continue;
                }
                Set<Long> target;
                if (fk.getValue().equals("zerver_client")) {
                    target = clients;
                } else if (exportedTables.contains(fk.getValue())) {
                    String key = table.name() + "." + fk.getKey();
                    target = refs.computeIfAbsent(key, k -> new TreeSet<>());
                    refTarget.put(key, fk.getValue());
                } else {
                    continue; // zerver_message, zerver_attachment ...: not in realm.json
                }
                fkIndexes.add(new int[] {writer.indexOf(field)});
                fkSets.add(target);
            }
            long[] count = {0};
            return rs -> {
                if (idSet != null) {
                    idSet.add(rs.getLong(idIndex));
                }
                for (int i = 0; i < fkIndexes.size(); i++) {
                    long v = rs.getLong(fkIndexes.get(i)[0]);
                    if (!rs.wasNull()) {
                        fkSets.get(i).add(v);
                    }
                }
                if ((++count[0] & 1023) == 0 && cancelled.getAsBoolean()) {
                    throw new SQLException("cancelled: the worker is stopping");
                }
            };
        }

        /** zerver_userprofile.recipient: the importer drops and recomputes it (dummies have none exported). */
        private boolean isDenormalizedRecipient(SchemaCatalog.Table table, String column) {
            return table.name().equals("zerver_userprofile") && column.equals("recipient_id");
        }

        void verify(long realmId) throws TaskAnomaly {
            for (Map.Entry<String, Set<Long>> ref : refs.entrySet()) {
                String target = refTarget.get(ref.getKey());
                Set<Long> have = ids.getOrDefault(target, Set.of());
                Set<Long> ok = allowed.getOrDefault(target, Set.of());
                List<Long> dangling = ref.getValue().stream().filter(v -> !have.contains(v) && !ok.contains(v)).toList();
                if (!dangling.isEmpty()) {
                    throw new TaskAnomaly(ref.getKey() + " points at " + target + " ids "
                            + (dangling.size() > 20 ? dangling.subList(0, 20) + " (and " + (dangling.size() - 20) + " more)" : dangling)
                            + " that are not in the export of realm " + realmId + "; the database is inconsistent or the"
                            + " export scope misses them: inspect those rows before exporting again");
                }
            }
        }
    }
}
