package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.MessageIdSet;
import org.realmexport.common.event.TaskResult;

import java.io.IOException;
import java.nio.file.Path;
import org.realmexport.common.storage.ExportStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Writes one {@code messages-NNNNNN.json}: the shard's messages (the planned id range, under the
 * watermark, filtered by the same {@link RealmScope} predicate the planner used) and the
 * usermessages of those messages for the realm's real users, both sorted by id, streamed from
 * PostgreSQL into the file. Holds at most the shard's message ids in memory.
 *
 * <p>The database is live: the shard holds its messages as they are when it runs. A message
 * deleted since planning is simply absent (and so are its usermessages and attachment links, read
 * for the ids written), one edited or moved within the realm is written as it now is, so a file
 * may hold fewer (even no) messages than planned, or more when messages moved into the export's
 * scope. The result reports the rows actually written.
 */
final class MessageShardWriter {
    /**
     * What the shard wrote, for the task result; {@code unsynced}: the store paths published but
     * not yet durable, which the worker syncs before the result is committed ({@link FileSyncer}).
     */
    record Outcome(Map<String, TaskResult.FileInfo> files, Map<String, Long> rows,
                   Map<Long, List<Long>> attachments, List<Long> clients, List<Long> messageIds,
                   String messageIdSet, Map<String, List<Long>> references, List<String> unsynced) {
    }

    private final SchemaCatalog catalog;
    private final ZulipRowWriter messages;
    private final ZulipRowWriter userMessages;

    MessageShardWriter(SchemaCatalog catalog) {
        this.catalog = catalog;
        this.messages = ZulipRowWriter.forTable(catalog.require("zerver_message"));
        this.userMessages = ZulipRowWriter.forTable(catalog.require("zerver_usermessage"));
    }

    Outcome write(Connection connection, RealmScope scope, ExportTask task, ExportStore exportDir,
                  BooleanSupplier cancelled) throws SQLException, IOException, TaskAnomaly {
        String fileName = task.fileName();
        List<Long> ids = new ArrayList<>(Math.max(16, Math.min(task.expectedCount(), 10_000)));
        DistinctIds clients = new DistinctIds();
        Map<String, Long> rows = new LinkedHashMap<>();
        int idIndex = messages.indexOf("id");
        int clientIndex = messages.hasField("sending_client") ? messages.indexOf("sending_client") : -1;
        // the users and recipients the rows refer to, for the assembler's check against realm.json
        DistinctIds senders = new DistinctIds();
        DistinctIds recipients = new DistinctIds();
        DistinctIds users = new DistinctIds();
        int senderIndex = messages.indexOf("sender");
        int recipientIndex = messages.indexOf("recipient");
        int userIndex = userMessages.indexOf("user_profile");
        try (ExportFile file = ExportFile.create(exportDir, fileName, false)) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            long n = messages.writeList(g, "zerver_message", connection, scope.shardPredicate("t"),
                    List.of(task.firstId(), task.lastId(), task.watermark()), rs -> {
                        ids.add(rs.getLong(idIndex));
                        senders.add(rs.getLong(senderIndex));
                        recipients.add(rs.getLong(recipientIndex));
                        if (clientIndex > 0) {
                            long c = rs.getLong(clientIndex);
                            if (!rs.wasNull()) {
                                clients.add(c);
                            }
                        }
                        if ((ids.size() & 255) == 0 && cancelled.getAsBoolean()) {
                            throw new SQLException("cancelled: the worker is stopping");
                        }
                    });
            rows.put("zerver_message", n);
            long um = userMessages.writeList(g, "zerver_usermessage", connection,
                    "t.message_id = ANY(?) AND " + scope.userMessageUserPredicate("t.user_profile_id"),
                    List.of(ids), rs -> {
                        users.add(rs.getLong(userIndex));
                        if (cancelled.getAsBoolean()) {
                            throw new SQLException("cancelled: the worker is stopping");
                        }
                    });
            rows.put("zerver_usermessage", um);
            g.writeEndObject();
            Map<Long, List<Long>> attachments = attachments(connection, ids);
            Map<String, TaskResult.FileInfo> files = Map.of(fileName, file.publish());
            List<Long> range = ids.isEmpty() ? List.of() : List.of(ids.get(0), ids.get(ids.size() - 1));
            String idSet = ids.isEmpty() ? null : MessageIdSet.encode(ids.stream().mapToLong(Long::longValue).toArray());
            Map<String, List<Long>> references = Map.of(TaskResult.MESSAGE_SENDER, senders.sorted(),
                    TaskResult.MESSAGE_RECIPIENT, recipients.sorted(), TaskResult.USERMESSAGE_USER, users.sorted());
            return new Outcome(files, rows, attachments, clients.sorted(), range, idSet, references,
                    PackedFile.paths(exportDir, fileName));
        } catch (SQLException e) {
            if (e.getCause() instanceof TaskAnomaly anomaly) {
                throw anomaly;
            }
            throw e;
        }
    }

    /** Attachment id to the shard's message ids that link it (zerver_attachment_messages). */
    private Map<Long, List<Long>> attachments(Connection connection, List<Long> ids) throws SQLException {
        Map<Long, List<Long>> out = new TreeMap<>();
        SchemaCatalog.Table link = catalog.table("zerver_attachment_messages").orElse(null);
        if (link == null || ids.isEmpty()) {
            return out;
        }
        String attachmentCol = columnReferencing(link, "zerver_attachment");
        String messageCol = columnReferencing(link, "zerver_message");
        String sql = "SELECT " + ZulipRowWriter.quote(attachmentCol) + ", " + ZulipRowWriter.quote(messageCol)
                + " FROM zerver_attachment_messages WHERE " + ZulipRowWriter.quote(messageCol)
                + " = ANY(?) ORDER BY 1, 2";
        try (PreparedStatement ps = ZulipRowWriter.prepare(connection, sql, List.of(ids));
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getLong(2));
            }
        }
        return out;
    }

    /** The column of a link table that references {@code table} (from the foreign keys). */
    static String columnReferencing(SchemaCatalog.Table link, String table) {
        return link.foreignKeys().entrySet().stream().filter(e -> e.getValue().equals(table))
                .map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new IllegalStateException(link.name() + " has no foreign key to " + table));
    }
}
