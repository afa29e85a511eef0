package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.ExportId;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.event.MessageIdSet;
import org.realmexport.common.storage.StoredFile;
import org.realmexport.common.storage.local.LocalExportStore;
import org.realmexport.common.storage.upload.UploadSources;
import org.realmexport.common.ExportType;
import org.realmexport.common.db.RealmScope;
import org.realmexport.producer.FileCopyPlanner;
import org.realmexport.worker.FileCopyWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes the files of one export as a shard worker would (from the database, with common.db's row
 * writer, each with its tar.gz part in one pass) and returns the {@link TaskResult}s a worker would post, so
 * that tests control exactly what the assembler receives: duplicates, failures, careless reports.
 */
final class SimulatedWorker {
    private final Database db;
    private final String exportId;
    private final long realmId;
    private final Path dir;
    private final Path uploadsDir;
    private List<FileCopyPlanner.Batch> batches;

    /** @param uploadsDir Zulip's LOCAL_UPLOADS_DIR, which the file copy batches read */
    SimulatedWorker(Database db, Path outputRoot, String exportId, long realmId, Path uploadsDir) throws IOException {
        this.db = db;
        this.exportId = exportId;
        this.realmId = realmId;
        this.dir = outputRoot.resolve(ExportId.directoryName(exportId));
        this.uploadsDir = uploadsDir;
        Files.createDirectories(dir);
    }

    /** How many file copy batches the producer plans for the realm. */
    int copyBatches() throws SQLException {
        if (batches == null) {
            try (Connection c = db.connection()) {
                batches = FileCopyPlanner.plan(c, db.catalog(), realmId);
                c.rollback();
            }
        }
        return batches.size();
    }

    /**
     * The file copy batches run by the real worker code (a full export's scope), their results as a
     * worker posts them; a batch that fails reports its error.
     *
     * @param avatarSalt Zulip's avatar_salt, or null as if the worker had none
     */
    List<TaskResult> copyTasks(int tasksPlanned, String avatarSalt) throws Exception {
        copyBatches();
        List<TaskResult> results = new ArrayList<>();
        FileCopyWriter writer = new FileCopyWriter(db.catalog(), UploadSources.local(uploadsDir), avatarSalt);
        try (Connection c = db.connection()) {
            RealmScope scope = RealmScope.resolve(c, db.catalog(), realmId, ExportType.FULL, "zulipinternal")
                    .materialized(c);
            for (FileCopyPlanner.Batch b : batches) {
                ExportTask task = new ExportTask(Versioned.CURRENT, exportId, b.kind(), realmId, "full", dir.toUri(),
                        Long.MAX_VALUE, b.number(), b.firstId(), b.lastId(), b.rows(), tasksPlanned);
                try {
                    FileCopyWriter.Outcome o = writer.write(c, scope, task, new LocalExportStore(dir), () -> false);
                    results.add(new TaskResult(Versioned.CURRENT, exportId, task.taskId(), tasksPlanned, o.files(),
                            Map.of(), Map.of(), Map.of(), List.of(), null, null, null, null, "simulated"));
                } catch (IOException | SQLException e) {
                    throw e;
                } catch (Exception e) { // the worker's anomaly: the task fails with it
                    results.add(failedTask(task.taskId(), tasksPlanned, e.getMessage()));
                }
            }
            c.rollback();
        }
        return results;
    }

    Path exportDir() {
        return dir;
    }

    ExportStatus planned(int tasksPlanned, long messages) {
        return new ExportStatus(Versioned.CURRENT, exportId, "request-" + exportId, realmId, Long.toString(realmId),
                "full", ExportState.PLANNED, tasksPlanned, 0, Long.MAX_VALUE, messages, dir.toUri(), null, null,
                null, null, null, null, System.currentTimeMillis());
    }

    /** realm.json (the realm and its scheduled messages), analytics.json, migration_status.json. */
    TaskResult realmTask(int tasksPlanned) throws Exception {
        return realmTask(tasksPlanned, -1);
    }

    /**
     * realm.json sketched: the realm, its scheduled messages, the users and recipients the realm's
     * messages, usermessages and reactions refer to (as zerver_userprofile, however a real worker
     * would class them) but {@code missingUser}, as if that user had appeared after it was written.
     */
    TaskResult realmTask(int tasksPlanned, long missingUser) throws Exception {
        Map<String, TaskResult.FileInfo> files = new TreeMap<>();
        Map<String, Long> rows = new TreeMap<>();
        Map<Long, List<Long>> scheduledLinks = new TreeMap<>();
        TreeSet<Long> clients = new TreeSet<>();
        try (Connection c = db.connection()) {
            SchemaCatalog catalog = db.catalog();
            files.put("realm.json", write("realm.json", g -> {
                g.writeStartObject();
                rows.put("zerver_realm", ZulipRowWriter.forTable(catalog.require("zerver_realm"))
                        .writeList(g, "zerver_realm", c, "t.id = ?", List.of(realmId), null));
                rows.put("zerver_scheduledmessage", ZulipRowWriter.forTable(catalog.require("zerver_scheduledmessage"))
                        .writeList(g, "zerver_scheduledmessage", c, "t.realm_id = ?", List.of(realmId), null));
                String messages = "SELECT id FROM zerver_message WHERE realm_id = " + realmId;
                rows.put("zerver_userprofile", ZulipRowWriter.forTable(catalog.require("zerver_userprofile"))
                        .writeList(g, "zerver_userprofile", c, "(t.realm_id = ? OR t.id IN (SELECT sender_id FROM"
                                + " zerver_message WHERE realm_id = ?) OR t.id IN (SELECT user_profile_id FROM"
                                + " zerver_usermessage WHERE message_id IN (" + messages + ")) OR t.id IN (SELECT"
                                + " user_profile_id FROM zerver_reaction WHERE message_id IN (" + messages + ")) OR"
                                + " t.id IN (SELECT owner_id FROM zerver_attachment WHERE realm_id = ?)) AND t.id <> ?",
                                List.of(realmId, realmId, realmId, missingUser), null));
                rows.put("zerver_recipient", ZulipRowWriter.forTable(catalog.require("zerver_recipient"))
                        .writeList(g, "zerver_recipient", c, "t.id IN (SELECT recipient_id FROM zerver_message"
                                + " WHERE realm_id = ?)", List.of(realmId), null));
                g.writeArrayFieldStart("zerver_client"); // some workers write it empty; the assembler fills it
                g.writeEndArray();
                g.writeStringField("import_source", "zulip");
                g.writeEndObject();
            }));
            files.put("analytics.json", write("analytics.json", g -> {
                g.writeStartObject();
                for (String t : List.of("analytics_realmcount", "analytics_usercount", "analytics_streamcount")) {
                    g.writeArrayFieldStart(t);
                    g.writeEndArray();
                }
                g.writeEndObject();
            }));
            files.put("migration_status.json", write("migration_status.json", g -> {
                g.writeStartObject();
                g.writeObjectFieldStart("migrations_by_app");
                g.writeArrayFieldStart("zerver");
                g.writeString("0001_initial");
                g.writeEndArray();
                g.writeEndObject();
                g.writeStringField("zulip_version", "11.0");
                g.writeEndObject();
            }));
            query(c, "SELECT l.attachment_id, l.scheduledmessage_id FROM zerver_attachment_scheduled_messages l"
                    + " JOIN zerver_scheduledmessage s ON s.id = l.scheduledmessage_id WHERE s.realm_id = ?",
                    List.of(realmId), rs -> scheduledLinks.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>())
                            .add(rs.getLong(2)));
            query(c, "SELECT DISTINCT sending_client_id FROM zerver_scheduledmessage WHERE realm_id = ?",
                    List.of(realmId), rs -> clients.add(rs.getLong(1)));
            c.rollback();
        }
        return new TaskResult(Versioned.CURRENT, exportId, "realm", tasksPlanned, files, rows, Map.of(),
                scheduledLinks, new ArrayList<>(clients), null, null, null, null, "simulated");
    }

    /**
     * messages-NNNNNN.json with the given messages and their usermessages.
     *
     * @param careless report the attachment links of every message in the shard's id range, exported
     *                 or not (a buggy worker), instead of only those of the exported messages
     */
    TaskResult shardTask(int shard, long[] messageIds, int tasksPlanned, boolean careless) throws Exception {
        String file = ExportTask.messagesFileStem(shard) + ".json";
        List<Long> ids = new ArrayList<>();
        for (long id : messageIds) {
            ids.add(id);
        }
        Map<String, Long> rows = new TreeMap<>();
        Map<Long, List<Long>> links = new TreeMap<>();
        TreeSet<Long> clients = new TreeSet<>();
        Map<String, List<Long>> references = new TreeMap<>();
        TaskResult.FileInfo info;
        try (Connection c = db.connection()) {
            SchemaCatalog catalog = db.catalog();
            info = write(file, g -> {
                g.writeStartObject();
                rows.put("zerver_message", ZulipRowWriter.forTable(catalog.require("zerver_message"))
                        .writeList(g, "zerver_message", c, "t.id = ANY(?)", List.of(ids), null));
                rows.put("zerver_usermessage", ZulipRowWriter.forTable(catalog.require("zerver_usermessage"))
                        .writeList(g, "zerver_usermessage", c, "t.message_id = ANY(?)", List.of(ids), null));
                g.writeEndObject();
            });
            String where = careless ? "message_id BETWEEN ? AND ?" : "message_id = ANY(?)";
            List<?> params = careless ? List.of(messageIds[0], messageIds[messageIds.length - 1]) : List.of(ids);
            query(c, "SELECT attachment_id, message_id FROM zerver_attachment_messages WHERE " + where, params,
                    rs -> links.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getLong(2)));
            query(c, "SELECT DISTINCT sending_client_id FROM zerver_message WHERE id = ANY(?)", List.of(ids),
                    rs -> clients.add(rs.getLong(1)));
            for (String[] ref : new String[][] {{TaskResult.MESSAGE_SENDER, "sender_id", "zerver_message", "id"},
                    {TaskResult.MESSAGE_RECIPIENT, "recipient_id", "zerver_message", "id"},
                    {TaskResult.USERMESSAGE_USER, "user_profile_id", "zerver_usermessage", "message_id"}}) {
                List<Long> referred = new ArrayList<>();
                query(c, "SELECT DISTINCT " + ref[1] + " FROM " + ref[2] + " WHERE " + ref[3] + " = ANY(?) ORDER BY 1",
                        List.of(ids), rs -> referred.add(rs.getLong(1)));
                references.put(ref[0], referred);
            }
            c.rollback();
        }
        return new TaskResult(Versioned.CURRENT, exportId, ExportTask.messagesFileStem(shard), tasksPlanned,
                Map.of(file, info), rows, links, Map.of(), new ArrayList<>(clients),
                List.of(messageIds[0], messageIds[messageIds.length - 1]), MessageIdSet.encode(messageIds),
                references, null, "simulated");
    }

    TaskResult failedTask(String taskId, int tasksPlanned, String error) {
        return new TaskResult(Versioned.CURRENT, exportId, taskId, tasksPlanned, Map.of(), Map.of(), Map.of(),
                Map.of(), List.of(), null, null, null, error, "simulated");
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException, SQLException;
    }

    private interface RowHandler {
        void row(ResultSet rs) throws SQLException;
    }

    private TaskResult.FileInfo write(String rel, Body body) throws IOException, SQLException {
        StoredFile.Written written;
        try (PackedFile file = PackedFile.create(new LocalExportStore(dir), rel, TarGzPart.DEFAULT_LEVEL, false)) {
            try (JsonGenerator g = JsonCounting.generator(file.stream())) {
                body.write(g);
            }
            file.stream().write('\n');
            written = file.commit();
        }
        return new TaskResult.FileInfo(written.size(), written.sha256());
    }

    private static void query(Connection c, String sql, List<?> params, RowHandler handler) throws SQLException {
        try (PreparedStatement ps = ZulipRowWriter.prepare(c, sql, params); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                handler.row(rs);
            }
        }
    }
}
