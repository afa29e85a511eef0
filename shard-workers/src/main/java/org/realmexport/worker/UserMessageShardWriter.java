package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.MessageIdSet;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.ExportStore;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Writes one {@code messages-NNNNNN.json} of a single-user export, as Zulip's
 * export_messages_single_user: {@code {"zerver_message": [...]}}, each message as in a realm
 * export plus the user's {@code flags} (names), {@code flags_mask}, {@code sending_client_name}
 * and {@code recipient_name}; no usermessage list. The messages are the shard's planned range
 * under the watermark, filtered by the same {@link UserScope} predicate the planner used, as they
 * are when it runs (a message deleted since planning is absent).
 */
final class UserMessageShardWriter {
    private final ZulipRowWriter messages;

    UserMessageShardWriter(SchemaCatalog catalog) {
        this.messages = ZulipRowWriter.forTable(catalog.require("zerver_message"));
    }

    MessageShardWriter.Outcome write(Connection connection, UserScope scope, ExportTask task, ExportStore exportDir,
                                     BooleanSupplier cancelled) throws SQLException, IOException {
        ZulipRowWriter writer = messages.withField("flags", scope.flagsList("t"), "_text")
                .withField("flags_mask", scope.flagsMask("t"), "int8")
                .withField("sending_client_name", UserScope.sendingClientName("t"), "text")
                .withField("recipient_name", UserScope.recipientName("t"), "text");
        int idIndex = writer.indexOf("id");
        List<Long> ids = new ArrayList<>(Math.max(16, Math.min(task.expectedCount(), 10_000)));
        try (ExportFile file = ExportFile.create(exportDir, task.fileName())) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            long n = writer.writeList(g, "zerver_message", connection, scope.shardPredicate("t"),
                    List.of(task.firstId(), task.lastId(), task.watermark()), rs -> {
                        ids.add(rs.getLong(idIndex));
                        if ((ids.size() & 255) == 0 && cancelled.getAsBoolean()) {
                            throw new SQLException("cancelled: the worker is stopping");
                        }
                    });
            g.writeEndObject();
            Map<String, TaskResult.FileInfo> files = Map.of(task.fileName(), file.publish());
            List<Long> range = ids.isEmpty() ? List.of() : List.of(ids.get(0), ids.get(ids.size() - 1));
            String idSet = ids.isEmpty() ? null : MessageIdSet.encode(ids.stream().mapToLong(Long::longValue).toArray());
            return new MessageShardWriter.Outcome(files, Map.of("zerver_message", n), Map.of(), List.of(), range, idSet,
                    Map.of(), List.of());
        }
    }
}
