package org.realmexport.localstack.generator;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.realmexport.localstack.generator.MessagePlanner.Clients;
import org.realmexport.localstack.generator.MessagePlanner.Plan;
import org.realmexport.localstack.generator.Model.Attachment;
import org.realmexport.localstack.generator.Model.Emoji;
import org.realmexport.localstack.generator.Model.Group;
import org.realmexport.localstack.generator.Model.Huddle;
import org.realmexport.localstack.generator.Model.ProfileField;
import org.realmexport.localstack.generator.Model.Realm;
import org.realmexport.localstack.generator.Model.Scheduled;
import org.realmexport.localstack.generator.Model.Stream;
import org.realmexport.localstack.generator.Model.Subscription;
import org.realmexport.localstack.generator.Model.SystemBots;
import org.realmexport.localstack.generator.Model.User;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.realmexport.localstack.generator.ModelBuilder.KIND_STREAM;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_DAY;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_HOUR;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_MINUTE;
import static org.realmexport.localstack.generator.PgTime.MICROS_PER_SECOND;

/**
 * One generation run on one connection, in one transaction: reads what the database already
 * holds, builds the model, bulk-loads every table with COPY, applies the post-load part of the
 * schema when it created the tables, and stages the upload files. The caller commits or rolls back.
 */
final class GeneratorRun {
    private static final Logger log = LoggerFactory.getLogger(RealmGenerator.class);

    /** Client names the generated traffic uses (created when missing, like Zulip's get_client). */
    static final String[] CLIENT_NAMES = {
        "Internal", "website", "ZulipMobile", "ZulipElectron", "internal", "ZulipPython",
        "ZulipGitHubWebhook", "ZulipTerminal", "ZulipFlutter"};

    private final GeneratorOptions options;
    private final long seed;
    private final Connection conn;
    private final CopyManager copyManager;
    private final String avatarSalt;
    private final TreeMap<String, Long> totals = new TreeMap<>();
    private final List<Realm> realms = new ArrayList<>();
    private final SystemBots systemBots = new SystemBots();
    private final Clients clients = new Clients();
    private final Map<String, Integer> clientIds = new TreeMap<>();
    private final List<String[]> newClients = new ArrayList<>();

    private Ids ids;
    private Timeline timeline;
    private Realm primary;
    private Realm secondary;
    private MessagePlanner planner;
    private boolean freshSchema;
    private boolean writeMigrations;
    private boolean writeAuthFixtures;
    private boolean writeInstallationCounts;
    private boolean writeFillState;
    private int fixtureGroupId;
    private int fixturePermissionId;
    private UploadStager stager;
    private LoadProgress progress;

    GeneratorRun(GeneratorOptions options, Connection conn, String avatarSalt) throws SQLException {
        this.options = options;
        this.seed = options.seed();
        this.conn = conn;
        this.copyManager = conn.unwrap(PGConnection.class).getCopyAPI();
        this.avatarSalt = avatarSalt;
    }

    /** Does the work; the caller owns the transaction, and the returned stager (to publish or discard). */
    GeneratedRealms run(Optional<UploadStager> uploads) throws SQLException, IOException {
        this.stager = uploads.orElse(null);
        prepareSchema();
        refuseExistingRealms();
        readExistingState();
        buildModel();
        long steps = 3 * timeline.total();
        try (LoadProgress p = LoadProgress.create(options.progressBar(), steps, log)) {
            this.progress = p;
            p.phase("small tables");
            writeInstallationTables();
            writeRealmTables();
            writeUsersAndGroups();
            writePerUserTables();
            MessageLoader loader = new MessageLoader(this);
            p.phase("messages");
            loader.writeMessages();
            p.phase("usermessages");
            loader.writeUserMessages();
            p.phase("reactions");
            loader.writeReactions();
            writeStreams();
            writeCurrentZulipTables();
            writeAttachments();
            writeScheduledMessages();
            writeAnalytics();
            writeNeverExportedTables();
            writeAuditLog();
            if (stager != null) {
                writeUploadFiles();
            }
        }
        finishSchema();
        return result();
    }

    // ------------------------------------------------------------------ schema and existing state

    private void prepareSchema() throws SQLException {
        try (Statement st = conn.createStatement()) {
            // Only for this transaction: faster index builds and commit.
            st.execute("SET LOCAL maintenance_work_mem = '1GB'");
            st.execute("SET LOCAL synchronous_commit = off");
        }
        freshSchema = !ZulipSchema.exists(conn);
        if (freshSchema) {
            log.info("Creating the Zulip schema (tables first; keys, indexes and foreign keys after the load)");
            ZulipSchema.createTables(conn);
        } else {
            List<String> missing = ZulipSchema.missingTables(conn, ZulipSchema.tableNames());
            if (!missing.isEmpty()) {
                throw new GeneratorException("the database has zerver_realm but lacks other Zulip tables the generator writes: "
                        + String.join(", ", missing) + "; use an empty schema or a complete Zulip schema");
            }
        }
    }

    private void refuseExistingRealms() throws SQLException {
        if (freshSchema) {
            return;
        }
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT string_id, id FROM zerver_realm WHERE string_id IN (?, ?) ORDER BY id")) {
            ps.setString(1, options.primaryStringId());
            ps.setString(2, options.secondaryStringId());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    throw new GeneratorException("the database already has a realm '" + rs.getString(1)
                            + "' (zerver_realm id " + rs.getInt(2) + "); generate into an empty schema or choose other string ids");
                }
            }
        }
    }

    private void readExistingState() throws SQLException {
        Map<String, Long> maxima = new TreeMap<>();
        List<String> withIds = new ArrayList<>(ZulipSchema.tableNames());
        withIds.remove("zerver_namedusergroup");   // keyed by usergroup_ptr_id
        if (!freshSchema) {
            StringBuilder sql = new StringBuilder();
            for (String t : withIds) {
                if (sql.length() > 0) {
                    sql.append(" UNION ALL ");
                }
                sql.append("SELECT '").append(t).append("', coalesce(max(id), 0) FROM ").append(t);
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    maxima.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        ids = new Ids(maxima);

        writeMigrations = freshSchema || isEmpty("django_migrations");
        writeAuthFixtures = freshSchema || isEmpty("django_content_type");
        writeInstallationCounts = freshSchema || isEmpty("analytics_installationcount");
        writeFillState = freshSchema || isEmpty("analytics_fillstate");

        if (!freshSchema) {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT id, name FROM zerver_client")) {
                while (rs.next()) {
                    clientIds.put(rs.getString(2), rs.getInt(1));
                }
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id FROM zerver_realm WHERE string_id = 'zulipinternal'")) {
                if (rs.next()) {
                    systemBots.realmId = rs.getInt(1);
                }
            }
            if (systemBots.realmId != 0) {
                systemBots.notificationBot = existingBot(ModelBuilder.NOTIFICATION_BOT);
                systemBots.welcomeBot = existingBot(ModelBuilder.WELCOME_BOT);
            }
        }
        for (String name : CLIENT_NAMES) {
            if (!clientIds.containsKey(name)) {
                int id = ids.next("zerver_client");
                clientIds.put(name, id);
                newClients.add(new String[] {String.valueOf(id), name});
            }
        }
        clients.internal = clientIds.get("Internal");
        clients.website = clientIds.get("website");
        clients.mobile = clientIds.get("ZulipMobile");
        clients.electron = clientIds.get("ZulipElectron");
        clients.flutter = clientIds.get("ZulipFlutter");
        clients.terminal = clientIds.get("ZulipTerminal");
        clients.python = clientIds.get("ZulipPython");
        clients.githubWebhook = clientIds.get("ZulipGitHubWebhook");
    }

    private boolean isEmpty(String table) throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT NOT EXISTS (SELECT 1 FROM " + table + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private User existingBot(String email) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT id, full_name FROM zerver_userprofile WHERE realm_id = ? AND upper(email) = upper(?)")) {
            ps.setInt(1, systemBots.realmId);
            ps.setString(2, email);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new GeneratorException("the realm zulipinternal exists but has no system bot " + email);
                }
                User u = new User();
                u.id = rs.getInt(1);
                u.realmId = systemBots.realmId;
                u.fullName = rs.getString(2);
                u.email = email;
                u.deliveryEmail = email;
                u.bot = true;
                u.systemBot = true;
                return u;
            }
        }
    }

    private void buildModel() {
        timeline = new Timeline(seed, options.messages(), options.secondaryMessages());
        ModelBuilder builder = new ModelBuilder(seed, ids, timeline);
        if (systemBots.realmId == 0) {
            realms.add(builder.buildInternalRealm(systemBots));
        }
        primary = builder.buildRealm(true, options.primaryStringId(), options.messages(),
                options.users(true), options.streams(true), options.attachments(true), systemBots);
        secondary = builder.buildRealm(false, options.secondaryStringId(), options.secondaryMessages(),
                options.users(false), options.streams(false), options.attachments(false), systemBots);
        realms.add(primary);
        realms.add(secondary);
        long messageBase = ids.reserve("zerver_message", timeline.total());
        planner = new MessagePlanner(seed, timeline, primary, secondary, systemBots, messageBase, clients);
        markPublicAttachments();
        log.info("Generating realms '{}' ({} messages, {} users, {} streams) and '{}' ({} messages, {} users, {} streams), seed {}",
                primary.stringId, primary.messages, primary.users.size(), primary.streams.size(),
                secondary.stringId, secondary.messages, secondary.users.size(), secondary.streams.size(), seed);
    }

    /** Zulip's is_realm_public / is_web_public: linked from a public / web-public stream message. */
    private void markPublicAttachments() {
        Plan p = new Plan();
        for (Realm r : List.of(primary, secondary)) {
            for (Attachment a : r.attachments) {
                for (int local : a.messageLocals) {
                    planner.plan(timeline.global(!r.primary, local), p);
                    if (p.kind == KIND_STREAM && !p.stream.inviteOnly) {
                        a.realmPublic = true;
                        a.webPublic |= p.stream.webPublic;
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers for the message loader

    MessagePlanner planner() {
        return planner;
    }

    Timeline timeline() {
        return timeline;
    }

    long seed() {
        return seed;
    }

    Ids ids() {
        return ids;
    }

    LoadProgress progress() {
        return progress;
    }

    List<Realm> userRealms() {
        return List.of(primary, secondary);
    }

    int maxRecipients() {
        int max = 2;
        for (Realm r : userRealms()) {
            for (Stream s : r.streams) {
                max = Math.max(max, s.subscriptions.size());
            }
            for (Huddle h : r.huddles) {
                max = Math.max(max, h.members.length);
            }
        }
        return max;
    }

    CopyStream open(String table, List<String> columns) throws SQLException {
        return CopyStream.open(copyManager, table, columns);
    }

    void counted(String table, long rows) {
        tally(table, rows);
        progress.rows(rows);
    }

    /** Records rows whose progress the caller already reported. */
    void tally(String table, long rows) {
        totals.merge(table, rows, Long::sum);
    }

    interface Rows {
        void write(CopyStream out) throws SQLException, IOException;
    }

    interface RealmRows {
        void write(Realm realm, CopyStream out) throws SQLException, IOException;
    }

    private void copy(String table, List<String> columns, Rows rows) throws SQLException, IOException {
        try (CopyStream out = open(table, columns)) {
            rows.write(out);
            counted(table, out.finish());
        }
    }

    /** One COPY for the table, the realms' rows one after another, counted per realm. */
    private void copyPerRealm(String table, List<String> columns, RealmRows rows) throws SQLException, IOException {
        copy(table, columns, out -> {
            for (Realm r : realms) {
                long before = out.rows();
                rows.write(r, out);
                r.count(table, out.rows() - before);
            }
        });
    }

    private static List<String> cols(String... names) {
        return List.of(names);
    }

    private Rng rngFor(long stream, long index) {
        return Rng.of(seed, stream, index);
    }

    private long dateOf(Realm r, int local) {
        return timeline.dateSent(timeline.global(!r.primary, Math.min(local, r.messages - 1)));
    }

    private long messageIdOf(Realm r, int local) {
        return planner.messageId(timeline.global(!r.primary, Math.min(local, r.messages - 1)));
    }

    // ------------------------------------------------------------------ installation-wide tables

    private void writeInstallationTables() throws SQLException, IOException {
        if (!newClients.isEmpty()) {
            copy("zerver_client", cols("id", "name"), out -> {
                for (String[] c : newClients) {
                    out.num(Long.parseLong(c[0])).text(c[1]).endRow();
                }
            });
        }
        if (writeMigrations) {
            List<String[]> migrations = migrations();
            copy("django_migrations", cols("id", "app", "name", "applied"), out -> {
                long applied = ModelBuilder.INTERNAL_REALM_CREATED - MICROS_PER_HOUR;
                for (String[] m : migrations) {
                    out.num(ids.nextLong("django_migrations")).text(m[0]).text(m[1]).ts(applied).endRow();
                    applied += 37_000;
                }
            });
        }
        if (writeAuthFixtures) {
            String[][] contentTypes = {
                {"auth", "permission"}, {"auth", "group"}, {"contenttypes", "contenttype"}, {"sessions", "session"},
                {"zerver", "client"}, {"zerver", "realm"}, {"zerver", "userprofile"}, {"zerver", "stream"},
                {"zerver", "message"}, {"zerver", "usermessage"}, {"analytics", "realmcount"}};
            List<int[]> typeIds = new ArrayList<>();
            copy("django_content_type", cols("id", "app_label", "model"), out -> {
                for (String[] ct : contentTypes) {
                    int id = ids.next("django_content_type");
                    typeIds.add(new int[] {id});
                    out.num(id).text(ct[0]).text(ct[1]).endRow();
                }
            });
            copy("auth_permission", cols("id", "name", "content_type_id", "codename"), out -> {
                for (int i = 0; i < contentTypes.length; i++) {
                    for (String action : new String[] {"add", "change", "delete", "view"}) {
                        int id = ids.next("auth_permission");
                        String model = contentTypes[i][1];
                        if (action.equals("view") && model.equals("message")) {
                            fixturePermissionId = id;
                        }
                        out.num(id).text("Can " + action + " " + model).num(typeIds.get(i)[0])
                                .text(action + "_" + model).endRow();
                    }
                }
            });
            copy("auth_group", cols("id", "name"), out -> {
                fixtureGroupId = ids.next("auth_group");
                out.num(fixtureGroupId).text("Support staff").endRow();
            });
        }
        if (writeFillState) {
            copy("analytics_fillstate", cols("id", "property", "end_time", "state"), out -> {
                for (String property : new String[] {"messages_sent:is_bot:hour", "active_users_audit:is_bot:day"}) {
                    out.num(ids.nextLong("analytics_fillstate")).text(property)
                            .ts(Timeline.MESSAGES_END - MICROS_PER_HOUR).num(1).endRow();
                }
            });
        }
        if (writeInstallationCounts) {
            copy("analytics_installationcount", cols("id", "property", "end_time", "value", "subgroup"), out -> {
                Rng rng = rngFor(Streams.ANALYTICS, 0);
                for (int day = 29; day >= 0; day--) {
                    long end = Timeline.MESSAGES_END - day * MICROS_PER_DAY;
                    out.num(ids.nextLong("analytics_installationcount")).text("active_users_audit:is_bot:day")
                            .ts(end).num(rng.between(50, 1100)).text("false").endRow();
                }
            });
        }
    }

    private static List<String[]> migrations() throws IOException {
        List<String[]> out = new ArrayList<>();
        try (InputStream in = GeneratorRun.class.getResourceAsStream("django-migrations.tsv")) {
            if (in == null) {
                throw new IOException("resource django-migrations.tsv is missing from the class path");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(line.split("\t", 2));
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ realms and their settings

    /** Which system group each of zerver_realm's group-setting columns points at (Zulip's defaults). */
    private static final Map<String, Integer> REALM_GROUP_SETTINGS = new TreeMap<>(Map.ofEntries(
            Map.entry("can_access_all_users_group_id", Model.EVERYONE),
            Map.entry("can_create_private_channel_group_id", Model.MEMBERS),
            Map.entry("can_create_public_channel_group_id", Model.MEMBERS),
            Map.entry("can_create_web_public_channel_group_id", Model.OWNERS),
            Map.entry("can_delete_any_message_group_id", Model.ADMINISTRATORS),
            Map.entry("create_multiuse_invite_group_id", Model.ADMINISTRATORS),
            Map.entry("direct_message_initiator_group_id", Model.EVERYONE),
            Map.entry("direct_message_permission_group_id", Model.EVERYONE),
            Map.entry("can_delete_own_message_group_id", Model.EVERYONE),
            Map.entry("can_create_groups_id", Model.MEMBERS),
            Map.entry("can_manage_all_groups_id", Model.OWNERS),
            Map.entry("can_add_custom_emoji_group_id", Model.MEMBERS),
            Map.entry("can_move_messages_between_channels_group_id", Model.MEMBERS),
            Map.entry("can_move_messages_between_topics_group_id", Model.EVERYONE),
            Map.entry("can_invite_users_group_id", Model.MEMBERS),
            Map.entry("can_add_subscribers_group_id", Model.MEMBERS),
            Map.entry("can_create_bots_group_id", Model.MEMBERS),
            Map.entry("can_create_write_only_bots_group_id", Model.MEMBERS),
            Map.entry("can_summarize_topics_group_id", Model.EVERYONE),
            Map.entry("can_mention_many_users_group_id", Model.ADMINISTRATORS),
            Map.entry("can_manage_billing_group_id", Model.ADMINISTRATORS),
            Map.entry("can_resolve_topics_group_id", Model.EVERYONE),
            Map.entry("can_set_topics_policy_group_id", Model.MEMBERS),
            Map.entry("can_set_delete_message_policy_group_id", Model.MODERATORS)));

    private void writeRealmTables() throws SQLException, IOException {
        RowTemplate realmTemplate = ZulipDefaults.REALM;
        copyPerRealm("zerver_realm", realmTemplate.columns, (r, out) -> {
            Rng rng = rngFor(Streams.REALM, 100 + r.id);
            RowTemplate.Row row = realmTemplate.row()
                    .num("id", r.id)
                    .text("name", r.name)
                    .text("description", r.description)
                    .text("string_id", r.stringId)
                    .text("uuid", rng.uuid())
                    .text("uuid_owner_secret", "zuliprealm_" + rng.alphanumeric(32))
                    .ts("date_created", r.dateCreated)
                    .text("default_language", "en");
            for (String column : realmTemplate.columns) {
                if (column.endsWith("_group_id") || column.equals("can_create_groups_id") || column.equals("can_manage_all_groups_id")) {
                    Integer group = REALM_GROUP_SETTINGS.get(column);
                    if (group == null) {
                        throw new IllegalStateException("no default for zerver_realm." + column);
                    }
                    row.num(column, r.group(group));
                }
            }
            if (r.internal) {
                row.num("org_type", 0).nul("zulip_update_announcements_level")
                        .nul("new_stream_announcements_stream_id").nul("zulip_update_announcements_stream_id")
                        .bool("enable_read_receipts", false);
            } else {
                int general = r.streams.get(0).id;
                row.num("org_type", r.primary ? 20 : 10)
                        .num("new_stream_announcements_stream_id", general)
                        .num("signup_announcements_stream_id", general)
                        .num("zulip_update_announcements_stream_id", general)
                        .text("icon_source", r.iconUploaded ? "U" : "G")
                        .num("icon_version", r.iconUploaded ? 2 : 1)
                        .bool("enable_spectator_access", r.primary)
                        .num("plan_type", r.primary ? 2 : 1);
            }
            row.write(out);
        });

        RowTemplate defaults = ZulipDefaults.REALM_USER_DEFAULT;
        copyPerRealm("zerver_realmuserdefault", defaults.columns, (r, out) -> defaults.row()
                .num("id", ids.next("zerver_realmuserdefault"))
                .num("realm_id", r.id)
                .num("email_address_visibility", r.primary ? Model.EMAIL_VISIBILITY_ADMINS : Model.EMAIL_VISIBILITY_EVERYONE)
                .write(out));

        copyPerRealm("zerver_realmauthenticationmethod", cols("id", "name", "realm_id"), (r, out) -> {
            String[] methods = r.internal ? new String[] {"Dev", "Email"}
                    : r.primary ? new String[] {"Email", "GitHub", "Google", "SAML"} : new String[] {"Email", "LDAP"};
            for (String m : methods) {
                out.num(ids.next("zerver_realmauthenticationmethod")).text(m).num(r.id).endRow();
            }
        });

        copyPerRealm("zerver_realmdomain", cols("id", "domain", "allow_subdomains", "realm_id"), (r, out) -> {
            if (!r.internal) {
                out.num(ids.next("zerver_realmdomain")).text(r.domain).bool(false).num(r.id).endRow();
                if (r.primary) {
                    out.num(ids.next("zerver_realmdomain")).text("partners.example.org").bool(true).num(r.id).endRow();
                }
            }
        });

        copyPerRealm("zerver_realmfilter", cols("id", "pattern", "url_template", "order", "realm_id"), (r, out) -> {
            if (!r.internal) {
                out.num(ids.next("zerver_realmfilter")).text("#(?P<id>[0-9]+)")
                        .text("https://github.com/example/" + r.stringId + "/issues/{id}").num(1).num(r.id).endRow();
                out.num(ids.next("zerver_realmfilter")).text("RFC ?(?P<rfc>[0-9]+)")
                        .text("https://www.rfc-editor.org/rfc/rfc{rfc}").num(2).num(r.id).endRow();
            }
        });

        copyPerRealm("zerver_realmplayground", cols("id", "url_template", "name", "pygments_language", "realm_id"), (r, out) -> {
            if (r.primary) {
                out.num(ids.next("zerver_realmplayground")).text("https://play.rust-lang.org/?code={code}")
                        .text("Rust playground").text("Rust").num(r.id).endRow();
                out.num(ids.next("zerver_realmplayground")).text("https://www.python.org/shell/?code={code}")
                        .text("Python shell").text("Python").num(r.id).endRow();
            }
        });

        copyPerRealm("zerver_customprofilefield", cols("id", "name", "hint", "order", "display_in_profile_summary",
                "required", "field_type", "field_data", "realm_id", "editable_by_user"), (r, out) -> {
            for (ProfileField f : r.profileFields) {
                out.num(f.id).text(f.name).text(f.hint).num(f.order).bool(f.order <= 2).bool(false)
                        .num(f.type).text(f.fieldData).num(r.id).bool(true).endRow();
            }
        });

        copyPerRealm("zerver_realmemoji", cols("id", "name", "file_name", "is_animated", "deactivated", "author_id", "realm_id"),
                (r, out) -> {
                    for (Emoji e : r.emoji) {
                        out.num(e.id).text(e.name).text(e.fileName).bool(false).bool(e.deactivated).num(e.author.id)
                                .num(r.id).endRow();
                    }
                });

        copyPerRealm("zerver_realmexport", cols("id", "type", "status", "date_requested", "date_started", "date_succeeded",
                "date_failed", "date_deleted", "export_path", "sha256sum_hex", "tarball_size_bytes", "stats",
                "acting_user_id", "realm_id"), (r, out) -> {
            if (r.primary) {
                // An earlier public export, done by Zulip itself, as a real realm would have.
                Rng rng = rngFor(Streams.REALM, 200 + r.id);
                long requested = Timeline.MESSAGES_START + 180 * MICROS_PER_DAY;
                String token = rng.urlSafe(24);
                out.num(ids.next("zerver_realmexport")).num(1).num(3).ts(requested).ts(requested + MICROS_PER_MINUTE)
                        .ts(requested + 41 * MICROS_PER_MINUTE).nul().nul()
                        .text("/exports/" + r.id + "/" + token + "/zulip-export-" + rng.alphanumeric(8).toLowerCase() + ".tar.gz")
                        .text(rng.hex(64)).num(rng.between(1_000_000, 90_000_000))
                        .text("{\"zerver_message\": " + rng.between(1000, 90000) + "}")
                        .num(r.owner.id).num(r.id).endRow();
            }
        });
    }

    // ------------------------------------------------------------------ users, groups, recipients, subscriptions

    private void writeUsersAndGroups() throws SQLException, IOException {
        copyPerRealm("zerver_usergroup", cols("id", "realm_id"), (r, out) -> {
            for (Group g : r.groups) {
                out.num(g.id).num(r.id).endRow();
            }
        });
        copyPerRealm("zerver_namedusergroup", cols("usergroup_ptr_id", "name", "description", "is_system_group",
                "can_mention_group_id", "realm_id", "can_manage_group_id", "deactivated", "creator_id", "date_created",
                "can_join_group_id", "can_add_members_group_id", "can_leave_group_id", "can_remove_members_group_id"), (r, out) -> {
            int nobody = r.group(Model.NOBODY);
            for (Group g : r.groups) {
                if (g.name == null) {
                    continue;
                }
                int everyone = g.system ? nobody : r.group(Model.EVERYONE);
                out.num(g.id).text(g.name).text(g.description).bool(g.system).num(everyone).num(r.id)
                        .num(g.system ? nobody : r.group(Model.ADMINISTRATORS)).bool(g.deactivated)
                        .numOrNull(g.creatorId, g.creatorId == 0).tsOrNull(g.dateCreated, g.dateCreated == 0)
                        .num(nobody).num(nobody).num(everyone).num(nobody).endRow();
            }
        });
        copyPerRealm("zerver_groupgroupmembership", cols("id", "supergroup_id", "subgroup_id"), (r, out) -> {
            for (Group g : r.groups) {
                for (int sub : g.subgroupIds) {
                    out.num(ids.next("zerver_groupgroupmembership")).num(g.id).num(sub).endRow();
                }
            }
        });
        copyPerRealm("zerver_usergroupmembership", cols("id", "user_group_id", "user_profile_id"), (r, out) -> {
            for (Group g : r.groups) {
                for (int member : g.memberIds) {
                    out.num(ids.next("zerver_usergroupmembership")).num(g.id).num(member).endRow();
                }
            }
        });
        copyPerRealm("zerver_recipient", cols("id", "type_id", "type"), (r, out) -> {
            for (User u : r.users) {
                out.num(u.recipientId).num(u.id).num(Model.RECIPIENT_PERSONAL).endRow();
            }
            for (Stream s : r.streams) {
                out.num(s.recipientId).num(s.id).num(Model.RECIPIENT_STREAM).endRow();
            }
            for (Huddle h : r.huddles) {
                out.num(h.recipientId).num(h.id).num(Model.RECIPIENT_DIRECT_MESSAGE_GROUP).endRow();
            }
        });
        copyPerRealm("zerver_huddle", cols("id", "huddle_hash", "recipient_id", "group_size"), (r, out) -> {
            for (Huddle h : r.huddles) {
                out.num(h.id).text(h.hash).num(h.recipientId).num(h.members.length).endRow();
            }
        });

        RowTemplate template = ZulipDefaults.USER_PROFILE;
        copyPerRealm("zerver_userprofile", template.columns, (r, out) -> {
            for (User u : r.users) {
                Rng rng = rngFor(Streams.USER_TABLES, u.id);
                template.row()
                        .num("id", u.id)
                        .text("password", u.password)
                        .ts("last_login", u.lastLogin)
                        .text("default_language", u.defaultLanguage)
                        .bool("twenty_four_hour_time", rng.chance(0.4))
                        .num("color_scheme", rng.between(1, 3))
                        .bool("enable_marketing_emails", !u.bot && rng.chance(0.5))
                        .num("email_address_visibility", u.emailVisibility)
                        .text("delivery_email", u.deliveryEmail)
                        .text("email", u.email)
                        .text("full_name", u.fullName)
                        .ts("date_joined", u.dateJoined)
                        .text("api_key", u.apiKey)
                        .text("uuid", u.uuid)
                        .bool("is_active", u.active)
                        .bool("is_bot", u.bot)
                        .ref("bot_type", u.botType)
                        .num("role", u.role)
                        .bool("long_term_idle", u.longTermIdle)
                        .bool("is_mirror_dummy", u.mirrorDummy)
                        .bool("can_forge_sender", u.canForgeSender)
                        .bool("can_create_users", false)
                        .text("timezone", u.timezone)
                        .text("avatar_source", u.avatarUploaded || u.systemBot ? "U" : "G")
                        .num("avatar_version", u.avatarVersion)
                        .ref("bot_owner_id", u.botOwnerId)
                        .num("realm_id", u.realmId)
                        .num("recipient_id", u.recipientId)
                        .ref("default_sending_stream_id", u.defaultSendingStreamId)
                        .bool("allow_private_data_export", u.consent)
                        .write(out);
            }
        });
        if (writeAuthFixtures) {
            copyPerRealm("zerver_userprofile_groups", cols("id", "userprofile_id", "group_id"), (r, out) -> {
                if (!r.internal) {
                    out.num(ids.next("zerver_userprofile_groups")).num(r.owner.id).num(fixtureGroupId).endRow();
                }
            });
            copyPerRealm("zerver_userprofile_user_permissions", cols("id", "userprofile_id", "permission_id"), (r, out) -> {
                if (r.primary) {
                    out.num(ids.next("zerver_userprofile_user_permissions")).num(r.stableHumans.get(1).id)
                            .num(fixturePermissionId).endRow();
                }
            });
        }
        copyPerRealm("zerver_subscription", cols("id", "active", "is_user_active", "is_muted", "color", "pin_to_top",
                "desktop_notifications", "audible_notifications", "push_notifications", "email_notifications",
                "wildcard_mentions_notify", "recipient_id", "user_profile_id"), (r, out) -> {
            List<Subscription> all = new ArrayList<>(r.personalSubscriptions);
            for (Stream s : r.streams) {
                all.addAll(s.subscriptions);
            }
            for (Huddle h : r.huddles) {
                all.addAll(h.subscriptions);
            }
            all.sort((a, b) -> Integer.compare(a.id, b.id));
            for (Subscription s : all) {
                out.num(s.id).bool(s.active).bool(s.user.active).bool(s.muted).text(s.color)
                        .bool(s.pinned).nul().nul().nul().nul().nul().num(s.recipientId).num(s.user.id).endRow();
            }
        });
        copyPerRealm("zerver_service", cols("id", "name", "base_url", "token", "interface", "user_profile_id"), (r, out) -> {
            for (User bot : r.realmBots) {
                if (bot.botType == Model.OUTGOING_WEBHOOK_BOT) {
                    Rng rng = rngFor(Streams.USER_TABLES, -bot.id);
                    out.num(ids.next("zerver_service")).text("followup")
                            .text("https://followup.example.net/zulip/" + r.stringId).text(rng.alphanumeric(32))
                            .num(1).num(bot.id).endRow();
                }
            }
        });
        copyPerRealm("zerver_defaultstream", cols("id", "realm_id", "stream_id"), (r, out) -> {
            for (Stream s : r.streams) {
                if (s.isDefault) {
                    out.num(ids.next("zerver_defaultstream")).num(r.id).num(s.id).endRow();
                }
            }
        });
    }

    private void writeStreams() throws SQLException, IOException {
        RowTemplate template = ZulipDefaults.STREAM;
        copyPerRealm("zerver_stream", template.columns, (r, out) -> {
            int nobody = r.group(Model.NOBODY);
            for (Stream s : r.streams) {
                long subscribers = s.subscriptions.stream().filter(sub -> sub.active && sub.user.active).count();
                template.row()
                        .num("id", s.id)
                        .text("name", s.name)
                        .ts("date_created", s.dateCreated)
                        .bool("deactivated", s.deactivated)
                        .text("description", s.description)
                        .text("rendered_description", "<p>" + s.description + "</p>")
                        .bool("invite_only", s.inviteOnly)
                        .bool("history_public_to_subscribers", s.historyPublic)
                        .bool("is_web_public", s.webPublic)
                        .ref("first_message_id", s.firstMessageId)
                        .num("can_remove_subscribers_group_id", r.group(Model.ADMINISTRATORS))
                        .ref("creator_id", s.creator.id)
                        .num("realm_id", r.id)
                        .num("recipient_id", s.recipientId)
                        .bool("is_recently_active", !s.deactivated)
                        .num("can_administer_channel_group_id", nobody)
                        .num("can_send_message_group_id", s.canSendMessageGroupId)
                        .num("can_add_subscribers_group_id", nobody)
                        .num("can_subscribe_group_id", nobody)
                        .num("subscriber_count", subscribers)
                        .num("can_move_messages_within_channel_group_id", nobody)
                        .num("can_move_messages_out_of_channel_group_id", nobody)
                        .num("can_resolve_topics_group_id", nobody)
                        .num("can_delete_any_message_group_id", nobody)
                        .num("can_delete_own_message_group_id", nobody)
                        .write(out);
            }
        });
    }

    // ------------------------------------------------------------------ per-user tables

    private void writePerUserTables() throws SQLException, IOException {
        copyPerRealm("zerver_customprofilefieldvalue", cols("id", "value", "rendered_value", "field_id", "user_profile_id"),
                (r, out) -> {
                    for (User u : r.humans) {
                        Rng rng = rngFor(Streams.USER_TABLES, 1_000_000L + u.id);
                        for (ProfileField f : r.profileFields) {
                            if (!rng.chance(0.6)) {
                                continue;
                            }
                            String value;
                            String rendered = null;
                            switch (f.type) {
                                case 1 -> value = "+1 555 01" + rng.between(10, 99);
                                case 2 -> {
                                    value = ModelBuilder.sentence(rng, 5, 15);
                                    rendered = "<p>" + value + "</p>";
                                }
                                case 3 -> value = String.valueOf(rng.nextInt(3));
                                case 6 -> value = "[" + r.owner.id + "]";
                                default -> value = u.fullName.toLowerCase().replace(' ', '-');
                            }
                            out.num(ids.next("zerver_customprofilefieldvalue")).text(value).text(rendered).num(f.id)
                                    .num(u.id).endRow();
                        }
                    }
                });
        copyPerRealm("zerver_alertword", cols("id", "word", "user_profile_id", "realm_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 2_000_000L + u.id);
                if (rng.chance(0.3)) {
                    for (String w : ModelBuilder.sample(List.of(Words.ALERT_WORDS), rng.between(1, 3), rng)) {
                        out.num(ids.next("zerver_alertword")).text(w).num(u.id).num(r.id).endRow();
                    }
                }
            }
        });
        copyPerRealm("zerver_muteduser", cols("id", "date_muted", "muted_user_id", "user_profile_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 3_000_000L + u.id);
                if (rng.chance(0.05)) {
                    User muted = r.humans.get(rng.nextInt(r.humans.size()));
                    if (muted != u) {
                        out.num(ids.next("zerver_muteduser")).ts(Timeline.MESSAGES_START + rng.nextLong(300 * MICROS_PER_DAY))
                                .num(muted.id).num(u.id).endRow();
                    }
                }
            }
        });
        copyPerRealm("zerver_usertopic", cols("id", "topic_name", "last_updated", "visibility_policy", "recipient_id",
                "stream_id", "user_profile_id"), (r, out) -> {
            for (Stream s : r.streams) {
                for (Subscription sub : s.subscriptions) {
                    if (sub.user.bot) {
                        continue;
                    }
                    Rng rng = rngFor(Streams.USER_TABLES, 4_000_000L + sub.id);
                    if (rng.chance(0.1)) {
                        // 1 muted, 2 unmuted, 3 followed
                        out.num(ids.next("zerver_usertopic")).text(s.topics[rng.nextInt(s.topics.length)])
                                .ts(Timeline.MESSAGES_START + rng.nextLong(600 * MICROS_PER_DAY)).num(rng.between(1, 3))
                                .num(s.recipientId).num(s.id).num(sub.user.id).endRow();
                    }
                }
            }
        });
        copyPerRealm("zerver_userstatus", cols("id", "reaction_type", "timestamp", "emoji_name", "emoji_code", "status_text",
                "client_id", "user_profile_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 5_000_000L + u.id);
                if (u.active && rng.chance(0.3)) {
                    int k = rng.nextInt(Words.STATUS_TEXTS.length);
                    out.num(ids.next("zerver_userstatus")).text("unicode_emoji")
                            .ts(Timeline.MESSAGES_END - rng.nextLong(20 * MICROS_PER_DAY))
                            .text(Words.STATUS_EMOJI_NAMES[k]).text(Words.STATUS_EMOJI_CODES[k]).text(Words.STATUS_TEXTS[k])
                            .num(clients.website).num(u.id).endRow();
                }
            }
        });
        copyPerRealm("zerver_userpresence", cols("id", "last_update_id", "last_connected_time", "last_active_time",
                "realm_id", "user_profile_id"), (r, out) -> {
            int update = 0;
            for (User u : r.humans) {
                if (!u.active) {
                    continue;
                }
                Rng rng = rngFor(Streams.USER_TABLES, 6_000_000L + u.id);
                long active = Timeline.MESSAGES_END - rng.nextLong(10 * MICROS_PER_DAY);
                out.num(ids.next("zerver_userpresence")).num(++update).ts(active + rng.nextLong(MICROS_PER_HOUR))
                        .ts(active).num(r.id).num(u.id).endRow();
            }
        });
        copyPerRealm("zerver_useractivity", cols("id", "query", "count", "last_visit", "client_id", "user_profile_id"), (r, out) -> {
            int[] userClients = {clients.website, clients.mobile, clients.electron};
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 7_000_000L + u.id);
                int client = userClients[rng.nextInt(userClients.length)];
                for (String q : ModelBuilder.sample(List.of(Words.ACTIVITY_QUERIES), rng.between(1, 4), rng)) {
                    out.num(ids.next("zerver_useractivity")).text(q).num(rng.between(1, 5000))
                            .ts(u.lastLogin - rng.nextLong(MICROS_PER_DAY)).num(client).num(u.id).endRow();
                }
            }
        });
        copyPerRealm("zerver_useractivityinterval", cols("id", "start", "end", "user_profile_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 8_000_000L + u.id);
                long t = u.lastLogin - 20 * MICROS_PER_DAY;
                for (int i = rng.between(1, 5); i > 0; i--) {
                    t += rng.nextLong(3 * MICROS_PER_DAY);
                    long end = t + 15 * MICROS_PER_MINUTE + rng.nextLong(3 * MICROS_PER_HOUR);
                    out.num(ids.next("zerver_useractivityinterval")).ts(t).ts(end).num(u.id).endRow();
                    t = end;
                }
            }
        });
    }

    // ------------------------------------------------------------------ attachments and scheduled messages

    private void writeAttachments() throws SQLException, IOException {
        copyPerRealm("zerver_attachment", cols("id", "file_name", "path_id", "create_time", "size", "content_type",
                "is_realm_public", "is_web_public", "owner_id", "realm_id"), (r, out) -> {
            for (Attachment a : r.attachments) {
                boolean unknown = a.messageLocals.isEmpty();   // Zulip leaves these NULL until a message uses it
                out.num(a.id).text(a.fileName).text(a.pathId).ts(a.createTime).num(a.size).text(a.contentType);
                if (unknown) {
                    out.nul().nul();
                } else {
                    out.bool(a.realmPublic).bool(a.webPublic);
                }
                out.num(a.owner.id).num(r.id).endRow();
            }
        });
        copyPerRealm("zerver_attachment_messages", cols("id", "attachment_id", "message_id"), (r, out) -> {
            for (Attachment a : r.attachments) {
                for (int local : a.messageLocals) {
                    out.num(ids.nextLong("zerver_attachment_messages")).num(a.id).num(messageIdOf(r, local)).endRow();
                }
            }
        });
    }

    private void writeScheduledMessages() throws SQLException, IOException {
        copyPerRealm("zerver_scheduledmessage", cols("id", "subject", "content", "rendered_content", "scheduled_timestamp",
                "read_by_sender", "delivered", "has_attachment", "failed", "failure_message", "delivery_type",
                "delivered_message_id", "realm_id", "recipient_id", "sender_id", "sending_client_id", "stream_id",
                "request_timestamp", "reminder_target_message_id", "reminder_note"), (r, out) -> {
            for (Scheduled s : r.scheduled) {
                int recipient = s.stream != null ? s.stream.recipientId : s.receiver.recipientId;
                out.num(s.id).text(s.topic).text(s.content).text(s.renderedContent).ts(s.scheduledAt)
                        .bool(true).bool(false).bool(s.attachment != null).bool(false).nul().num(s.deliveryType)
                        .nul().num(r.id).num(recipient).num(s.sender.id).num(clients.website)
                        .numOrNull(s.stream == null ? 0 : s.stream.id, s.stream == null).ts(s.requestedAt);
                if (s.reminderTargetLocal >= 0) {
                    out.num(messageIdOf(r, s.reminderTargetLocal)).text("Follow up on this");
                } else {
                    out.nul().nul();
                }
                out.endRow();
            }
        });
        copyPerRealm("zerver_attachment_scheduled_messages", cols("id", "attachment_id", "scheduledmessage_id"), (r, out) -> {
            for (Attachment a : r.attachments) {
                for (int scheduled : a.scheduledMessageIds) {
                    out.num(ids.nextLong("zerver_attachment_scheduled_messages")).num(a.id).num(scheduled).endRow();
                }
            }
        });
    }

    // ------------------------------------------------------------------ analytics

    private void writeAnalytics() throws SQLException, IOException {
        String[] messageTypes = {"public_stream", "private_stream", "private_message", "huddle_message"};
        copyPerRealm("analytics_realmcount", cols("id", "realm_id", "property", "end_time", "value", "subgroup"), (r, out) -> {
            if (r.internal) {
                return;
            }
            Rng rng = rngFor(Streams.ANALYTICS, r.id);
            for (int day = 29; day >= 0; day--) {
                long end = Timeline.MESSAGES_END - day * MICROS_PER_DAY;
                out.num(ids.nextLong("analytics_realmcount")).num(r.id).text("active_users_audit:is_bot:day").ts(end)
                        .num(r.humans.size() - rng.nextInt(3)).text("false").endRow();
                out.num(ids.nextLong("analytics_realmcount")).num(r.id).text("active_users_audit:is_bot:day").ts(end)
                        .num(r.realmBots.size()).text("true").endRow();
                for (String type : messageTypes) {
                    out.num(ids.nextLong("analytics_realmcount")).num(r.id).text("messages_sent:message_type:day").ts(end)
                            .num(rng.between(0, Math.max(1, r.messages / 400))).text(type).endRow();
                }
            }
        });
        copyPerRealm("analytics_usercount", cols("id", "realm_id", "user_id", "property", "end_time", "value", "subgroup"),
                (r, out) -> {
                    if (r.internal) {
                        return;
                    }
                    Rng rng = rngFor(Streams.ANALYTICS, 1000 + r.id);
                    for (User u : r.humans.subList(0, Math.min(100, r.humans.size()))) {
                        for (int day = 9; day >= 0; day--) {
                            long end = Timeline.MESSAGES_END - day * MICROS_PER_DAY;
                            out.num(ids.nextLong("analytics_usercount")).num(r.id).num(u.id)
                                    .text("messages_sent:message_type:day").ts(end).num(rng.between(1, 40))
                                    .text(messageTypes[rng.nextInt(messageTypes.length)]).endRow();
                        }
                    }
                });
        copyPerRealm("analytics_streamcount", cols("id", "realm_id", "stream_id", "property", "end_time", "value", "subgroup"),
                (r, out) -> {
                    if (r.internal) {
                        return;
                    }
                    Rng rng = rngFor(Streams.ANALYTICS, 2000 + r.id);
                    for (Stream s : r.streams) {
                        for (int day = 9; day >= 0; day--) {
                            long end = Timeline.MESSAGES_END - day * MICROS_PER_DAY;
                            out.num(ids.nextLong("analytics_streamcount")).num(r.id).num(s.id)
                                    .text("messages_in_stream:is_bot:day").ts(end).num(rng.between(0, 60)).text("false").endRow();
                        }
                    }
                });
    }

    // ------------------------------------------------------------------ tables Zulip never exports

    /** The tables a current Zulip exports that an export of Zulip 10 did not have. */
    private void writeCurrentZulipTables() throws SQLException, IOException {
        copyPerRealm("zerver_presencesequence", cols("id", "last_update_id", "realm_id"), (r, out) ->
                out.num(ids.next("zerver_presencesequence")).num(r.internal ? 0 : 4 + r.id * 97L).num(r.id).endRow());
        // the welcome messages of a new realm, with the flags each new user gets (read, starred...)
        copyPerRealm("zerver_onboardingusermessage", cols("id", "flags", "message_id", "realm_id"), (r, out) -> {
            if (!r.internal && r.messages > 0) {
                Rng rng = rngFor(Streams.USER_TABLES, 12_000_000L + r.id);
                for (int i = 0; i < Math.min(12, r.messages); i++) {
                    out.num(ids.next("zerver_onboardingusermessage")).num(rng.nextInt(8)).num(messageIdOf(r, i))
                            .num(r.id).endRow();
                }
            }
        });
        copyPerRealm("zerver_savedsnippet", cols("id", "title", "content", "date_created", "realm_id", "user_profile_id"),
                (r, out) -> {
                    for (User u : r.humans) {
                        Rng rng = rngFor(Streams.USER_TABLES, 13_000_000L + u.id);
                        if (rng.chance(0.2)) {
                            out.num(ids.next("zerver_savedsnippet")).text("Snippet " + rng.alphanumeric(4))
                                    .text(ModelBuilder.sentence(rng, 5, 20))
                                    .ts(Timeline.MESSAGES_START + rng.nextLong(300 * MICROS_PER_DAY)).num(r.id).num(u.id)
                                    .endRow();
                        }
                    }
                });
        copyPerRealm("zerver_navigationview", cols("id", "fragment", "is_pinned", "name", "user_id"), (r, out) -> {
            for (User u : r.users) {
                Rng rng = rngFor(Streams.USER_TABLES, 14_000_000L + u.id);
                if (!u.bot && rng.chance(0.25)) {
                    out.num(ids.next("zerver_navigationview")).text("inbox").bool(rng.chance(0.5)).nul().num(u.id).endRow();
                    if (rng.chance(0.5)) {
                        out.num(ids.next("zerver_navigationview")).text("narrow/is/starred").bool(true)
                                .text("Starred").num(u.id).endRow();
                    }
                }
            }
        });
        copyPerRealm("zerver_channelfolder", cols("id", "name", "description", "rendered_description", "date_created",
                "is_archived", "creator_id", "realm_id", "order"), (r, out) -> {
            if (!r.internal) {
                String[] names = {"Engineering", "Social", "Archive"};
                for (int i = 0; i < names.length; i++) {
                    out.num(ids.next("zerver_channelfolder")).text(names[i]).text("Channels of " + names[i].toLowerCase())
                            .text("<p>Channels of " + names[i].toLowerCase() + "</p>")
                            .ts(r.dateCreated + (i + 1) * 30 * MICROS_PER_DAY).bool(i == 2).num(r.owner.id).num(r.id)
                            .num(i).endRow();
                }
            }
        });
        copyPerRealm("zerver_onboardingstep", cols("id", "onboarding_step", "timestamp", "user_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 16_000_000L + u.id);
                for (String step : new String[] {"visibility_policy_banner", "intro_inbox_view_modal", "navigation_tour_video"}) {
                    if (rng.chance(0.4)) {
                        out.num(ids.next("zerver_onboardingstep")).text(step)
                                .ts(Timeline.MESSAGES_START + rng.nextLong(200 * MICROS_PER_DAY)).num(u.id).endRow();
                    }
                }
            }
        });
        // an embedded bot's storage and configuration
        copyPerRealm("zerver_botstoragedata", cols("id", "key", "value", "bot_profile_id"), (r, out) -> {
            if (!r.internal && !r.realmBots.isEmpty()) {
                User bot = r.realmBots.get(0);
                out.num(ids.next("zerver_botstoragedata")).text("last_seen").text("2024-01-01").num(bot.id).endRow();
                out.num(ids.next("zerver_botstoragedata")).text("counter").text("42").num(bot.id).endRow();
            }
        });
        copyPerRealm("zerver_botconfigdata", cols("id", "key", "value", "bot_profile_id"), (r, out) -> {
            if (!r.internal && !r.realmBots.isEmpty()) {
                out.num(ids.next("zerver_botconfigdata")).text("api_url").text("https://bots.example.net/" + r.stringId)
                        .num(r.realmBots.get(0).id).endRow();
            }
        });
        copyPerRealm("zerver_externalauthid", cols("id", "date_created", "external_auth_method_name", "external_auth_id",
                "realm_id", "user_id"), (r, out) -> {
            if (!r.internal) {
                for (User u : r.humans) {
                    Rng rng = rngFor(Streams.USER_TABLES, 15_000_000L + u.id);
                    if (rng.chance(0.1)) {
                        out.num(ids.next("zerver_externalauthid")).ts(Timeline.MESSAGES_START + rng.nextLong(30 * MICROS_PER_DAY))
                                .text("scim").text(rng.hex(32)).num(r.id).num(u.id).endRow();
                    }
                }
            }
        });
    }

    private void writeNeverExportedTables() throws SQLException, IOException {
        List<int[]> invites = new ArrayList<>();   // {invite id, realm id}
        copyPerRealm("zerver_multiuseinvite", cols("id", "invited_as", "include_realm_default_subscriptions", "status",
                "referred_by_id", "realm_id", "welcome_message_custom_text"), (r, out) -> {
            if (!r.internal) {
                int id = ids.next("zerver_multiuseinvite");
                invites.add(new int[] {id, r.id});
                out.num(id).num(Model.ROLE_MEMBER).bool(true).num(0).num(r.owner.id).num(r.id).nul().endRow();
            }
        });
        copyPerRealm("zerver_preregistrationuser", cols("id", "email", "full_name", "full_name_validated",
                "notify_referrer_on_join", "invited_at", "realm_creation", "password_required", "status", "invited_as",
                "include_realm_default_subscriptions", "created_user_id", "multiuse_invite_id", "referred_by_id", "realm_id",
                "welcome_message_custom_text"), (r, out) -> {
            if (r.internal) {
                return;
            }
            Rng rng = rngFor(Streams.USER_TABLES, 9_000_000L + r.id);
            int invite = invites.stream().filter(i -> i[1] == r.id).findFirst().orElseThrow()[0];
            for (int i = 0; i < 3; i++) {
                out.num(ids.next("zerver_preregistrationuser")).text("invitee" + (i + 1) + "@invited." + r.domain).nul()
                        .bool(false).bool(true).ts(Timeline.MESSAGES_END - rng.nextLong(20 * MICROS_PER_DAY)).bool(false)
                        .bool(true).num(0).num(Model.ROLE_MEMBER).bool(true).nul().numOrNull(invite, i != 2)
                        .num(r.owner.id).num(r.id).nul().endRow();
            }
        });
        copyPerRealm("zerver_pushdevicetoken", cols("id", "kind", "token", "last_updated", "ios_app_id", "user_id"), (r, out) -> {
            for (User u : r.humans) {
                Rng rng = rngFor(Streams.USER_TABLES, 10_000_000L + u.id);
                if (u.active && rng.chance(0.1)) {
                    boolean apns = rng.chance(0.5);
                    out.num(ids.next("zerver_pushdevicetoken")).num(apns ? 1 : 2).text(rng.hex(64))
                            .ts(Timeline.MESSAGES_END - rng.nextLong(60 * MICROS_PER_DAY))
                            .text(apns ? "org.zulip.Zulip" : null).num(u.id).endRow();
                }
            }
        });
        copyPerRealm("zerver_draft", cols("id", "topic", "content", "last_edit_time", "user_profile_id", "recipient_id"),
                (r, out) -> {
                    for (User u : r.humans) {
                        Rng rng = rngFor(Streams.USER_TABLES, 11_000_000L + u.id);
                        if (u.active && rng.chance(0.15)) {
                            Stream s = r.streams.get(0);
                            out.num(ids.next("zerver_draft")).text(rng.pick(s.topics)).text("Draft: " + ModelBuilder.sentence(rng, 3, 10))
                                    .ts(Timeline.MESSAGES_END - rng.nextLong(5 * MICROS_PER_DAY)).num(u.id).num(s.recipientId)
                                    .endRow();
                        }
                    }
                });
    }

    // ------------------------------------------------------------------ audit log

    private void writeAuditLog() throws SQLException, IOException {
        copyPerRealm("zerver_realmauditlog", cols("id", "event_time", "backfilled", "extra_data", "event_type",
                "event_last_message_id", "acting_user_id", "modified_user_id", "realm_id", "modified_stream_id",
                "modified_user_group_id", "modified_channel_folder_id"), (r, out) -> {
            AuditRows log = new AuditRows(out, r.id);
            log.row(r.dateCreated, "{}", 215, 0, 0, 0, 0, 0);                       // REALM_CREATED
            for (Group g : r.groups) {
                if (g.name != null) {
                    log.row(g.dateCreated == 0 ? r.dateCreated : g.dateCreated, "{}", 701, 0, g.creatorId, 0, 0, g.id);
                }
            }
            for (User u : r.users) {
                int acting = u.bot && !u.systemBot ? u.botOwnerId : 0;
                log.row(u.dateJoined, "{}", 101, 0, acting, u.id, 0, 0);            // USER_CREATED
                if (u.role == Model.ROLE_ADMINISTRATOR || u.role == Model.ROLE_MODERATOR) {
                    log.row(u.dateJoined + MICROS_PER_HOUR, "{\"1\": 400, \"2\": " + u.role + "}", 105, 0,
                            r.owner.id, u.id, 0, 0);                                // USER_ROLE_CHANGED
                }
                if (u.activeUntil != Model.NEVER) {
                    log.row(dateOf(r, u.activeUntil), "{}", 103, messageIdOf(r, u.activeUntil) - 1, r.owner.id,
                            u.id, 0, 0);                                            // USER_DEACTIVATED
                }
            }
            for (Group g : r.groups) {
                if (g.name != null) {
                    for (int member : g.memberIds) {
                        log.row(g.dateCreated == 0 ? r.dateCreated : g.dateCreated, "{}", 703, 0, 0, member, 0, g.id);
                    }
                }
            }
            for (Stream s : r.streams) {
                log.row(s.dateCreated, "{}", 601, 0, s.creator.id, 0, s.id, 0);     // CHANNEL_CREATED
                for (Subscription sub : s.subscriptions) {
                    long time = sub.joinedAt == 0 ? s.dateCreated : dateOf(r, sub.joinedAt) - MICROS_PER_SECOND;
                    long lastMessage = sub.joinedAt == 0 ? 0 : messageIdOf(r, sub.joinedAt) - 1;
                    log.row(time, "{}", 301, lastMessage, sub.user.id, sub.user.id, s.id, 0);   // SUBSCRIPTION_CREATED
                    if (sub.leftAt != Model.NEVER) {
                        log.row(dateOf(r, sub.leftAt) - MICROS_PER_SECOND, "{}", 303, messageIdOf(r, sub.leftAt) - 1,
                                sub.user.id, sub.user.id, s.id, 0);                // SUBSCRIPTION_DEACTIVATED
                    }
                }
                if (s.deactivated) {
                    log.row(dateOf(r, s.deactivatedAt), "{}", 602, messageIdOf(r, s.deactivatedAt) - 1, r.owner.id, 0,
                            s.id, 0);                                               // CHANNEL_DEACTIVATED
                }
            }
            for (Emoji e : r.emoji) {
                log.row(r.dateCreated + 4 * MICROS_PER_DAY, "{\"added_emoji\": {\"id\": \"" + e.id + "\", \"name\": \""
                        + e.name + "\"}}", 226, 0, e.author.id, 0, 0, 0);           // REALM_EMOJI_ADDED
            }
        });
    }

    private final class AuditRows {
        private final CopyStream out;
        private final int realmId;

        AuditRows(CopyStream out, int realmId) {
            this.out = out;
            this.realmId = realmId;
        }

        void row(long time, String extraData, int eventType, long lastMessageId, int actingUser, int modifiedUser,
                 int modifiedStream, int modifiedGroup) throws SQLException {
            out.num(ids.nextLong("zerver_realmauditlog")).ts(time).bool(false).text(extraData).num(eventType)
                    .numOrNull(lastMessageId, lastMessageId <= 0).numOrNull(actingUser, actingUser == 0)
                    .numOrNull(modifiedUser, modifiedUser == 0).num(realmId).numOrNull(modifiedStream, modifiedStream == 0)
                    .numOrNull(modifiedGroup, modifiedGroup == 0).nul().endRow();
        }
    }

    // ------------------------------------------------------------------ upload files

    private void writeUploadFiles() throws IOException {
        for (Realm r : userRealms()) {
            for (Attachment a : r.attachments) {
                stager.write("files/" + a.pathId, a.size, rngFor(Streams.FILES, a.id), a.createTime);
            }
            for (User u : r.users) {
                if (!u.avatarUploaded) {
                    continue;
                }
                String base = "avatars/" + avatarPath(u.id, u.avatarVersion, r.id);
                int color = (int) rngFor(Streams.AVATARS, u.id).nextLong();
                stager.write(base + ".original", TinyPng.image(48, color), u.dateJoined);
                stager.write(base + ".png", TinyPng.image(32, color), u.dateJoined);
                stager.write(base + "-medium.png", TinyPng.image(40, color), u.dateJoined);
            }
            for (Emoji e : r.emoji) {
                // RealmEmoji.PATH_ID_TEMPLATE, under the avatars directory
                stager.write("avatars/" + r.id + "/emoji/images/" + e.fileName,
                        TinyPng.image(24, (int) rngFor(Streams.AVATARS, -e.id).nextLong()), r.dateCreated + 4 * MICROS_PER_DAY);
            }
            if (r.iconUploaded) {
                int color = (int) rngFor(Streams.AVATARS, -1_000_000L - r.id).nextLong();
                stager.write("avatars/" + r.id + "/realm/icon.original", TinyPng.image(64, color), r.dateCreated);
                stager.write("avatars/" + r.id + "/realm/icon.png", TinyPng.image(40, color), r.dateCreated);
            }
        }
        log.info("Staged {} upload files ({} bytes) under {}", stager.files(), stager.bytes(), stager.uploadsDir());
    }

    /** zerver/lib/avatar_hash.py user_avatar_base_path_from_ids: realm id / sha256(id:version:salt)[:40]. */
    String avatarPath(int userId, int version, int realmId) {
        byte[] digest = ModelBuilder.digest("SHA-256", userId + ":" + version + ":" + avatarSalt);
        return realmId + "/" + HexFormat.of().formatHex(digest).substring(0, 40);
    }

    // ------------------------------------------------------------------ finishing

    private void finishSchema() throws SQLException {
        long t0 = System.nanoTime();
        if (freshSchema) {
            log.info("Adding primary keys, indexes and foreign keys");
            try (Statement st = conn.createStatement()) {
                // Statistics first, so that validating the foreign keys of the big tables is
                // planned as one hash join rather than guessed.
                for (String table : totals.keySet()) {
                    st.execute("ANALYZE " + table);
                }
                for (String statement : ZulipSchema.postLoadStatements()) {
                    long s0 = System.nanoTime();
                    st.execute(statement);
                    long ms = (System.nanoTime() - s0) / 1_000_000;
                    if (ms >= 1000) {
                        log.debug("{} ms: {}", ms, statement);
                    }
                }
            }
        }
        try (Statement st = conn.createStatement()) {
            for (String table : totals.keySet()) {
                if (!table.equals("zerver_namedusergroup")) {
                    st.execute("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), (SELECT max(id) FROM " + table + "))");
                }
            }
            // (again) at the end: expression indexes get their statistics too
            for (String table : totals.keySet()) {
                st.execute("ANALYZE " + table);
            }
        }
        log.info("Keys, indexes, sequences and statistics done in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    private GeneratedRealms result() {
        return new GeneratedRealms(summary(primary), summary(secondary), systemBots.realmId, avatarSalt,
                Optional.ofNullable(stager).map(UploadStager::uploadsDir), Collections.unmodifiableSortedMap(new TreeMap<>(totals)));
    }

    private static GeneratedRealm summary(Realm r) {
        int bots = r.realmBots.size();
        int consenting = (int) r.humans.stream().filter(u -> u.consent).count();
        int privateStreams = (int) r.streams.stream().filter(s -> s.inviteOnly).count();
        long bytes = r.attachments.stream().mapToLong(a -> a.size).sum();
        return new GeneratedRealm(r.id, r.stringId, r.messages, r.userMessages, r.users.size(), r.humans.size(), bots,
                1, consenting, r.streams.size(), privateStreams, r.huddles.size(), r.attachments.size(), bytes,
                r.firstMessageId, r.lastMessageId, Collections.unmodifiableSortedMap(new TreeMap<>(r.rowCounts)));
    }
}
