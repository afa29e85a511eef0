package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.Database;
import org.realmexport.common.ExportType;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.MessageIdSet;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.storage.StoredFile;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns the files the workers wrote into a finished export: checks them against the task results,
 * adds what depends on every shard (reactions, clients, attachments), writes the records.json of
 * the uploads, avatars, emoji and realm icons the workers' copy batches copied ({@link CopiedFiles}),
 * stats.json and manifest.json, and packs the tarball.
 *
 * <p>The workers' files are taken as their tasks reported them (size, sha256, rows, message ids):
 * they are not read back, except the small ones whose tables go into stats.json and realm.json,
 * which gets the assembler's tables.
 *
 * <p>Idempotent: every output depends only on the workers' files, the task results and the
 * database, and appears whole or not at all. A finalizing that dies half way
 * leaves complete files behind, and running it again rewrites the same bytes and the same tarball.
 *
 * <p>Memory: one task result at a time, then per-export maps bounded by the number of tasks and by
 * the realm's attachments ({@link ResultSummary}), the exported message ids as compact bitmaps
 * ({@link ExportedMessages}), and the copied files' records. Rows are streamed, never held.
 */
final class ExportFinalizer {
    private static final Logger LOG = LoggerFactory.getLogger(ExportFinalizer.class);
    private static final long CHECK_EVERY = 10_000;

    /** The results of one export, visited one at a time. */
    interface TaskResults {
        void forEach(Visitor visitor) throws ExportAnomaly, InterruptedException;

        interface Visitor {
            void accept(TaskResult result) throws ExportAnomaly;
        }
    }

    /** The tarball and what it holds. */
    record Finalized(String tarball, String sha256, long size, Map<String, Long> rows, Map<String, Long> stepMillis) {
    }

    /** Milliseconds per step, for the operator's log line. */
    private static final class Steps {
        private final Map<String, Long> millis = new LinkedHashMap<>();
        private long last = System.nanoTime();

        void done(String step) throws InterruptedException {
            long now = System.nanoTime();
            millis.merge(step, (now - last) / 1_000_000, Long::sum);
            last = now;
            checkInterrupted();
        }
    }

    private final Database database;
    private final ExportStores stores;
    private final boolean allowMissingFiles;
    private final int gzipLevel;
    private final FinalizerHooks hooks;

    ExportFinalizer(Database database, ExportStores stores, boolean allowMissingFiles, int gzipLevel,
                    FinalizerHooks hooks) {
        this.database = database;
        this.stores = stores;
        this.allowMissingFiles = allowMissingFiles;
        this.gzipLevel = gzipLevel;
        this.hooks = hooks;
    }

    /** The export directory named by a status ({@code <output>/zulip-export-<id>}). */
    static URI exportDirectory(ExportStatus status) throws ExportAnomaly {
        if (status.output() == null || status.output().toString().isBlank()) {
            throw new ExportAnomaly("the plan names no output directory");
        }
        return ExportStores.exportDirectory(status.output(), status.exportId());
    }

    Finalized finalizeExport(ExportStatus status, TaskResults results)
            throws ExportAnomaly, IOException, SQLException, InterruptedException {
        String exportId = status.exportId();
        if (status.realmId() == null) {
            throw new ExportAnomaly("the plan names no realm id");
        }
        long realmId = status.realmId();
        try (ExportStore store = stores.open(exportDirectory(status))) {
            if (UserScope.isUserExport(status.type())) {
                return new UserExportFinalizer(gzipLevel, allowMissingFiles, hooks).finalizeExport(status, results, store);
            }
            return finalizeExport(status, results, realmId, store);
        }
    }

    private Finalized finalizeExport(ExportStatus status, TaskResults results, long realmId, ExportStore store)
            throws ExportAnomaly, IOException, SQLException, InterruptedException {
        String exportId = status.exportId();
        Steps steps = new Steps();
        ResultSummary summary = new ResultSummary();
        results.forEach(summary::add);
        summary.seal(status.tasksPlanned());
        steps.done("results");

        ExportOutput out = new ExportOutput(exportId, store, gzipLevel);
        SortedMap<String, Map<String, Long>> tables = new TreeMap<>();
        ReferenceCheck references = new ReferenceCheck();
        ExportedMessages exported = takeMessageFiles(out, summary, tables, references);
        verifyOtherWorkerFiles(out, summary, tables);
        steps.done("worker files");

        Map<String, Long> rows = new TreeMap<>(summary.rows);
        ExportType type = ExportType.parse(status.type());
        List<Long> consenting;
        SchemaCatalog catalog = database.catalog(); // before taking a connection: reading it takes one
        try (Connection connection = database.connection()) {
            Set<Long> scheduledIds = new HashSet<>();
            // a scheduled message delivered after planning: its message is not exported (nor is one
            // deleted since), so the link is cut, as links of attachments to such messages are
            Set<Long> cutLinks = new HashSet<>();
            java.util.function.LongPredicate deliveredExported = id -> {
                if (exported.contains(id)) {
                    return true;
                }
                cutLinks.add(id);
                return false;
            };
            RealmJsonRewriter.Result realm = RealmJsonRewriter.rewrite(out,
                    summary.files.get(ResultSummary.REALM_JSON),
                    table -> switch (table) {
                        case "zerver_scheduledmessage" -> JsonCounting.Fields.of("id", scheduledIds::add)
                                .nullUnless("delivered_message", deliveredExported);
                        case "zerver_userprofile", "zerver_userprofile_mirrordummy", "zerver_userprofile_crossrealm" ->
                                JsonCounting.Fields.of("id", references.users());
                        case "zerver_recipient" -> JsonCounting.Fields.of("id", references.recipients());
                        default -> null;
                    },
                    g -> writeReactionsAndClients(g, connection, catalog, exported, summary, references));
            if (!cutLinks.isEmpty()) {
                LOG.info("export {}: {} scheduled messages were delivered as messages that are not in the export"
                        + " (delivered or deleted after planning); written with delivered_message null",
                        exportId, cutLinks.size());
            }
            tables.put(stem(ResultSummary.REALM_JSON), realm.tables());
            rows.put("zerver_reaction", realm.tables().get("zerver_reaction"));
            rows.put("zerver_client", realm.tables().get("zerver_client"));
            steps.done("realm.json");

            AttachmentExporter.Result attachments = AttachmentExporter.export(connection, catalog, realmId, summary,
                    exported, scheduledIds, out);
            tables.put(stem(AttachmentExporter.FILE),
                    Map.of(AttachmentExporter.TABLE, (long) attachments.attachments().size()));
            rows.put(AttachmentExporter.TABLE, (long) attachments.attachments().size());
            for (AttachmentExporter.Exported a : attachments.attachments()) {
                references.refer(ReferenceCheck.Reference.ATTACHMENT_OWNER, a.ownerId());
            }
            references.check();
            steps.done("attachments");

            connection.rollback(); // read-only: end the snapshot
            MissingFiles missing = new MissingFiles();
            Map<String, Long> records = CopiedFiles.read(out, summary.copies)
                    .write(out, attachments.attachments(), missing);
            steps.done("records");
            missing.check(allowMissingFiles);
            if (!missing.isEmpty()) {
                LOG.warn("export {}: {}; exported without them ({}=true), all listed under {} in stats.json",
                        exportId, missing.summary(), RealmExportConfig.UPLOADS_ALLOW_MISSING, MissingFiles.STATS_KEY);
            }
            ExportPacker.writeStats(out, tables, records, missing, status.skippedTables());
            consenting = type == ExportType.FULL_WITH_CONSENT
                    ? RealmScope.resolve(connection, catalog, realmId, type, "").consentingUsers(connection) : null;
            connection.rollback();
        }
        ExportPacker.writeManifest(out, type, consenting);
        ExportPacker.warnAboutStrays(out);
        steps.done("manifest");
        hooks.beforeTarball(exportId);
        ExportStore.Assembled tarball = ExportPacker.pack(out);
        steps.done("tarball");
        return new Finalized(ExportStores.display(tarball.location()), tarball.sha256(), tarball.size(), rows, steps.millis);
    }

    /**
     * The message files as their tasks reported them: ids (checked to lie in the shard's range, in
     * order, as many as the task counted), rows per table, size and sha256, and the users and
     * recipients their rows refer to. Not read back.
     */
    static ExportedMessages takeMessageFiles(ExportOutput out, ResultSummary summary,
                                                     SortedMap<String, Map<String, Long>> tables,
                                                     ReferenceCheck references)
            throws ExportAnomaly, InterruptedException {
        ExportedMessages exported = new ExportedMessages();
        for (ResultSummary.Shard shard : summary.shards) {
            checkInterrupted();
            long[] sorted;
            try {
                sorted = shard.empty() ? new long[0] : MessageIdSet.decode(shard.firstId(), shard.idSet());
            } catch (IllegalArgumentException e) {
                throw new ExportAnomaly("task " + shard.taskId() + " reports an unreadable message id set: "
                        + e.getMessage());
            }
            for (int i = 0; i < sorted.length; i++) {
                if (sorted[i] < shard.firstId() || sorted[i] > shard.lastId() || (i > 0 && sorted[i] <= sorted[i - 1])) {
                    throw new ExportAnomaly(shard.file() + " holds message " + sorted[i] + " out of order or outside"
                            + " its range [" + shard.firstId() + ", " + shard.lastId() + "]");
                }
            }
            if (shard.messages() != null && shard.messages() != sorted.length) {
                throw new ExportAnomaly(shard.file() + " holds " + sorted.length + " messages; task "
                        + shard.taskId() + " reported " + shard.messages());
            }
            exported.addShard(sorted);
            tables.put(stem(shard.file()), shard.tables());
            TaskResult.FileInfo file = summary.files.get(shard.file());
            out.workerFile(shard.file(), new StoredFile.Written(file.size(), file.sha256()));
        }
        references.refer(ReferenceCheck.Reference.MESSAGE_SENDER, reported(summary, TaskResult.MESSAGE_SENDER));
        references.refer(ReferenceCheck.Reference.MESSAGE_RECIPIENT, reported(summary, TaskResult.MESSAGE_RECIPIENT));
        references.refer(ReferenceCheck.Reference.USERMESSAGE_USER, reported(summary, TaskResult.USERMESSAGE_USER));
        return exported;
    }

    private static long[] reported(ResultSummary summary, String kind) {
        return summary.references.getOrDefault(kind, new long[0]);
    }

    /**
     * The other files of the workers (analytics.json, migration_status.json ...): small, read for
     * their tables (stats.json) and checked against the report on the way, and listed.
     */
    static void verifyOtherWorkerFiles(ExportOutput out, ResultSummary summary,
                                               SortedMap<String, Map<String, Long>> tables)
            throws IOException, ExportAnomaly, InterruptedException {
        Set<String> shardFiles = new HashSet<>();
        summary.shards.forEach(s -> shardFiles.add(s.file()));
        for (Map.Entry<String, TaskResult.FileInfo> f : summary.files.entrySet()) {
            String rel = f.getKey();
            if (rel.equals(ResultSummary.REALM_JSON) || shardFiles.contains(rel)) {
                continue;
            }
            checkInterrupted();
            JsonCounting.Counted counted;
            try (InputStream in = PackedFile.open(out.store(), rel, f.getValue().size())) {
                if (rel.endsWith(".json") && rel.indexOf('/') < 0) {
                    counted = JsonCounting.read(in, rel, null);
                    if (!counted.tables().isEmpty()) {
                        tables.put(stem(rel), counted.tables());
                    }
                } else {
                    counted = digest(in);
                }
            } catch (NoSuchFileException e) {
                throw new ExportAnomaly(rel + " is missing from " + out.store().location());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ExportAnomaly(rel + " is not valid JSON: " + e.getOriginalMessage());
            }
            verify(rel, counted, f.getValue(), "of the realm task");
            out.workerFile(rel, new StoredFile.Written(counted.size(), counted.sha256()));
        }
    }

    private static JsonCounting.Counted digest(InputStream in) throws IOException {
        java.security.MessageDigest sha = Sha256.digest();
        long size = 0;
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            sha.update(buf, 0, n);
            size += n;
        }
        return new JsonCounting.Counted(Map.of(), size, java.util.HexFormat.of().formatHex(sha.digest()));
    }

    private static void verify(String rel, JsonCounting.Counted actual, TaskResult.FileInfo reported, String task)
            throws ExportAnomaly {
        if (actual.size() != reported.size() || !actual.sha256().equalsIgnoreCase(reported.sha256())) {
            throw new ExportAnomaly(rel + " does not match what task " + task + " reported (" + actual.size()
                    + " bytes, sha256 " + actual.sha256() + "; reported " + reported.size() + " bytes, sha256 "
                    + reported.sha256() + "): it changed after the task wrote it");
        }
    }

    /**
     * zerver_reaction: the reactions on exported messages, streamed in id order over the exported
     * id range and kept when their message is exported; zerver_client: the clients the exported
     * rows reference (the union of the tasks' reports).
     */
    private static Map<String, Long> writeReactionsAndClients(JsonGenerator g, Connection connection,
                                                              SchemaCatalog catalog, ExportedMessages exported,
                                                              ResultSummary summary, ReferenceCheck references)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        Map<String, Long> counts = new LinkedHashMap<>();
        ZulipRowWriter reactions = ZulipRowWriter.forTable(catalog.require("zerver_reaction"));
        g.writeArrayFieldStart("zerver_reaction");
        long n = 0;
        if (!exported.isEmpty()) {
            int message = reactions.indexOf("message");
            int user = reactions.indexOf("user_profile");
            long seen = 0;
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection,
                    reactions.query("t.message_id BETWEEN ? AND ?"), List.of(exported.min(), exported.max()));
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (exported.contains(rs.getLong(message))) {
                        reactions.writeRow(g, rs);
                        references.refer(ReferenceCheck.Reference.REACTION_USER, rs.getLong(user));
                        n++;
                    }
                    if (++seen % CHECK_EVERY == 0) {
                        checkInterrupted();
                    }
                }
            }
        }
        g.writeEndArray();
        counts.put("zerver_reaction", n);

        ZulipRowWriter clients = ZulipRowWriter.forTable(catalog.require("zerver_client"));
        long found = clients.writeList(g, "zerver_client", connection, "t.id = ANY(?)",
                List.of(new ArrayList<>(summary.clients)), null);
        if (found != summary.clients.size()) {
            throw new ExportAnomaly((summary.clients.size() - found) + " of the clients " + summary.clients
                    + " referenced by exported rows are not in zerver_client");
        }
        counts.put("zerver_client", found);
        return counts;
    }

    static String stem(String jsonFile) {
        return jsonFile.substring(0, jsonFile.length() - ".json".length());
    }

    static void checkInterrupted() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("finalizing interrupted");
        }
    }
}
