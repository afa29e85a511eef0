package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.ExportId;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.Database;
import org.realmexport.common.ExportType;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.AtomicFile;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Turns the files the workers wrote into a finished export: checks them against the task results,
 * adds what depends on every shard (reactions, clients, attachments), copies the uploads, avatars,
 * emoji and realm icons, writes stats.json and manifest.json, and packs the tarball.
 *
 * <p>Idempotent: every output depends only on the workers' files, the task results, the database
 * and the uploads directory, and appears atomically (temp + rename). A finalizing that dies half
 * way leaves complete files (or hidden temporaries) behind, and running it again rewrites the
 * same bytes and the same tarball.
 *
 * <p>Memory: one task result at a time, then per-export maps bounded by the number of tasks and by
 * the realm's attachments ({@link ResultSummary}), the exported message ids as compact bitmaps
 * ({@link ExportedMessages}), and the records of one file category. Rows are streamed, never held.
 */
final class ExportFinalizer {
    private static final Logger LOG = LoggerFactory.getLogger(ExportFinalizer.class);
    private static final String MESSAGE_TABLE = "zerver_message";
    private static final String USERMESSAGE_TABLE = "zerver_usermessage";
    private static final long CHECK_EVERY = 10_000;
    /** The worker's realm.json, kept where nothing lists or packs it ('%' never comes out of partPath). */
    static final String WORKER_REALM_JSON = "%realm.json.worker";

    /** The results of one export, visited one at a time. */
    interface TaskResults {
        void forEach(Visitor visitor) throws ExportAnomaly, InterruptedException;

        interface Visitor {
            void accept(TaskResult result) throws ExportAnomaly;
        }
    }

    /** The tarball and what it holds. */
    record Finalized(Path tarball, String sha256, long size, Map<String, Long> rows, Map<String, Long> stepMillis) {
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
    private final Path uploadsDir;
    private final String avatarSalt;
    private final boolean allowMissingFiles;
    private final int gzipLevel;
    private final FinalizerHooks hooks;

    ExportFinalizer(Database database, Path uploadsDir, String avatarSalt, boolean allowMissingFiles, int gzipLevel,
                    FinalizerHooks hooks) {
        this.database = database;
        this.uploadsDir = uploadsDir;
        this.avatarSalt = avatarSalt;
        this.allowMissingFiles = allowMissingFiles;
        this.gzipLevel = gzipLevel;
        this.hooks = hooks;
    }

    /** The export directory named by a status ({@code <output>/zulip-export-<id>}). */
    static Path exportDirectory(ExportStatus status) throws ExportAnomaly {
        String output = status.output();
        if (output == null || output.isBlank()) {
            throw new ExportAnomaly("the plan names no output directory");
        }
        if (output.startsWith("s3://")) {
            throw new ExportAnomaly("output " + output + " is on S3, which this assembler cannot finalize yet;"
                    + " export to a local directory");
        }
        Path path = Path.of(output).toAbsolutePath().normalize();
        String name = ExportId.directoryName(status.exportId());
        return path.getFileName() != null && path.getFileName().toString().equals(name) ? path : path.resolve(name);
    }

    static Path tarballOf(Path exportDir) {
        return exportDir.resolveSibling(exportDir.getFileName() + ".tar.gz");
    }

    Finalized finalizeExport(ExportStatus status, TaskResults results)
            throws ExportAnomaly, IOException, SQLException, InterruptedException {
        String exportId = status.exportId();
        if (status.realmId() == null) {
            throw new ExportAnomaly("the plan names no realm id");
        }
        long realmId = status.realmId();
        Path dir = exportDirectory(status);
        if (!Files.isDirectory(dir)) {
            throw new ExportAnomaly("the export directory " + dir + " does not exist");
        }
        Steps steps = new Steps();
        ResultSummary summary = new ResultSummary();
        results.forEach(summary::add);
        summary.seal(status.tasksPlanned());
        steps.done("results");

        ExportOutput out = new ExportOutput(exportId, dir, gzipLevel, partMtime(dir, summary));
        SortedMap<String, Map<String, Long>> tables = new TreeMap<>();
        ReferenceCheck references = new ReferenceCheck();
        ExportedMessages exported = readMessageFiles(out, summary, tables, references);
        verifyOtherWorkerFiles(out, summary, tables);
        steps.done("worker files");

        Map<String, Long> rows = new TreeMap<>(summary.rows);
        ExportType type = ExportType.parse(status.type());
        List<Long> consenting;
        SchemaCatalog catalog = database.catalog(); // before taking a connection: reading it takes one
        try (Connection connection = database.connection()) {
            Set<Long> scheduledIds = new HashSet<>();
            Path realmJson = dir.resolve(ResultSummary.REALM_JSON);
            Path original = dir.resolve(TarGzPart.PARTS_DIRECTORY).resolve(WORKER_REALM_JSON);
            if (!Files.isRegularFile(realmJson) && !Files.isRegularFile(original)) {
                throw new ExportAnomaly("realm.json is missing from " + dir);
            }
            RealmJsonRewriter.preserveOriginal(realmJson, original);
            RealmJsonRewriter.Result realm = RealmJsonRewriter.rewrite(original, realmJson,
                    summary.files.get(ResultSummary.REALM_JSON).sha256(),
                    table -> switch (table) {
                        case "zerver_scheduledmessage" -> JsonCounting.Fields.of("id", scheduledIds::add);
                        case "zerver_userprofile", "zerver_userprofile_mirrordummy", "zerver_userprofile_crossrealm" ->
                                JsonCounting.Fields.of("id", references.users());
                        case "zerver_recipient" -> JsonCounting.Fields.of("id", references.recipients());
                        default -> null;
                    },
                    g -> writeReactionsAndClients(g, connection, catalog, exported, summary, references));
            out.ownFile(ResultSummary.REALM_JSON, realm.file());
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

            MediaExporter media = new MediaExporter(connection, catalog, uploadsDir, avatarSalt, out, realmId);
            Map<String, Long> records = media.exportAll(attachments.attachments());
            connection.rollback(); // read-only: end the snapshot
            steps.done("media files");
            MissingFiles missing = media.missing();
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
        TarGzPart.Tarball tarball = ExportPacker.pack(out, tarballOf(dir));
        steps.done("tarball");
        return new Finalized(tarball.path(), tarball.sha256(), tarball.size(), rows, steps.millis);
    }

    /**
     * Threads reading message files. Reading and digesting them is most of the finalizing time of
     * a large export and the workers are idle by then; files are read ahead in a small window and
     * taken in shard order, so the outcome does not depend on the threads.
     */
    private static final int READ_THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /**
     * One message file as read: its counts and checksum, its message ids sorted as written, and the
     * users and recipients its rows refer to.
     */
    private record ReadShard(JsonCounting.Counted counted, long[] ids, long[] senders, long[] recipients,
                             long[] userMessageUsers) {
    }

    /** Reads every message file: its ids (for the cross-checks), its row counts, its checksum. */
    private static ExportedMessages readMessageFiles(ExportOutput out, ResultSummary summary,
                                                     SortedMap<String, Map<String, Long>> tables,
                                                     ReferenceCheck references)
            throws IOException, ExportAnomaly, InterruptedException {
        ExportedMessages exported = new ExportedMessages();
        ExecutorService readers = Executors.newFixedThreadPool(READ_THREADS, r -> {
            Thread t = new Thread(r, "assembler-file-reader");
            t.setDaemon(true);
            return t;
        });
        try {
            Deque<Future<ReadShard>> window = new ArrayDeque<>();
            List<ResultSummary.Shard> shards = summary.shards;
            int submitted = 0;
            for (ResultSummary.Shard shard : shards) {
                while (submitted < shards.size() && window.size() < 2 * READ_THREADS) {
                    String file = shards.get(submitted++).file();
                    window.add(readers.submit(() -> {
                        LongList ids = new LongList();
                        LongList senders = new LongList();
                        LongList recipients = new LongList();
                        LongList users = new LongList();
                        JsonCounting.Counted counted = read(out, file, table -> switch (table) {
                            case MESSAGE_TABLE -> JsonCounting.Fields.of("id", ids::add, "sender", senders::add,
                                    "recipient", recipients::add);
                            case USERMESSAGE_TABLE -> JsonCounting.Fields.of("user_profile", users::add);
                            default -> null;
                        });
                        return new ReadShard(counted, ids.toArray(), senders.toArray(), recipients.toArray(),
                                users.toArray());
                    }));
                }
                checkInterrupted();
                ReadShard read = take(window.poll());
                JsonCounting.Counted counted = read.counted();
                verify(shard.file(), counted, summary.files.get(shard.file()), shard.taskId());
                long[] sorted = read.ids();
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
                references.refer(ReferenceCheck.Reference.MESSAGE_SENDER, read.senders());
                references.refer(ReferenceCheck.Reference.MESSAGE_RECIPIENT, read.recipients());
                references.refer(ReferenceCheck.Reference.USERMESSAGE_USER, read.userMessageUsers());
                tables.put(stem(shard.file()), counted.tables());
                out.workerFile(shard.file(), new AtomicFile.Written(counted.size(), counted.sha256()));
            }
            return exported;
        } finally {
            readers.shutdownNow();
        }
    }

    /** The result of one read, with its own exception (anomaly, I/O) rethrown as is. */
    private static ReadShard take(Future<ReadShard> future) throws IOException, ExportAnomaly, InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ExportAnomaly anomaly) {
                throw anomaly;
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IOException(cause);
        }
    }

    /** The other files of the workers (analytics.json, migration_status.json ...): checked and listed. */
    private static void verifyOtherWorkerFiles(ExportOutput out, ResultSummary summary,
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
            if (rel.endsWith(".json") && rel.indexOf('/') < 0) {
                counted = read(out, rel, null);
                if (!counted.tables().isEmpty()) {
                    tables.put(stem(rel), counted.tables());
                }
            } else {
                counted = digest(out, rel);
            }
            verify(rel, counted, f.getValue(), "of the realm task");
            out.workerFile(rel, new AtomicFile.Written(counted.size(), counted.sha256()));
        }
    }

    private static JsonCounting.Counted read(ExportOutput out, String rel, JsonCounting.FieldSink fields)
            throws IOException, ExportAnomaly {
        Path file = out.path(rel);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ExportAnomaly(rel + " is missing from " + out.dir());
        }
        try (InputStream in = Files.newInputStream(file)) {
            return JsonCounting.read(in, rel, fields);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ExportAnomaly(rel + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static JsonCounting.Counted digest(ExportOutput out, String rel) throws IOException, ExportAnomaly {
        Path file = out.path(rel);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ExportAnomaly(rel + " is missing from " + out.dir());
        }
        java.security.MessageDigest sha = AtomicFile.sha256();
        long size = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
                size += n;
            }
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

    /**
     * The entry time of the assembler's tar entries: that of a worker's part, so that every entry
     * of the tarball carries the same one and finalizing again gives the same bytes.
     */
    private static long partMtime(Path dir, ResultSummary summary) throws IOException {
        List<String> candidates = new ArrayList<>();
        summary.files.keySet().stream().filter(f -> !f.equals(ResultSummary.REALM_JSON)).forEach(candidates::add);
        candidates.add(ResultSummary.REALM_JSON);
        for (String rel : candidates) {
            Path part = TarGzPart.partPath(dir, rel);
            if (Files.isRegularFile(part)) {
                return ExportPacker.entryMtime(part);
            }
        }
        return 0; // no part at all: packing fails anyway
    }

    static String stem(String jsonFile) {
        return jsonFile.substring(0, jsonFile.length() - ".json".length());
    }

    static void checkInterrupted() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("finalizing interrupted");
        }
    }

    /** A growable list of longs (one shard's message ids). */
    static final class LongList {
        private long[] values = new long[1024];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
