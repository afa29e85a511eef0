package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.ExportStore;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Writes the USER task's file of a single-user export: {@code user.json}, the user's rows of each
 * table {@link UserScope#userJsonTables()} names (Zulip's get_single_user_config), each list sorted
 * by id, written as realm.json's rows are ({@link ZulipRowWriter}: no api_key, password nor uuid).
 */
final class UserJsonWriter {
    /** What the task wrote, for its task result. */
    record Outcome(Map<String, TaskResult.FileInfo> files, Map<String, Long> rows) {
    }

    private final SchemaCatalog catalog;

    UserJsonWriter(SchemaCatalog catalog) {
        this.catalog = catalog;
    }

    Outcome write(Connection connection, UserScope scope, ExportStore exportDir, BooleanSupplier cancelled)
            throws SQLException, IOException {
        Map<String, Long> rows = new LinkedHashMap<>();
        try (ExportFile file = ExportFile.create(exportDir, UserScope.USER_JSON)) {
            JsonGenerator g = file.json();
            g.writeStartObject();
            for (Map.Entry<String, String> part : scope.userJsonTables().entrySet()) {
                if (cancelled.getAsBoolean()) {
                    throw new SQLException("cancelled: the worker is stopping");
                }
                ZulipRowWriter writer = ZulipRowWriter.forTable(catalog.require(part.getKey()));
                if (part.getKey().equals("zerver_userprofile")) {
                    writer = RealmConfigWriter.withUserLists(writer, catalog);
                }
                rows.put(part.getKey(), writer.writeList(g, part.getKey(), connection, part.getValue(), List.of(), null));
            }
            g.writeEndObject();
            if (rows.getOrDefault("zerver_userprofile", 0L) != 1) {
                throw new SQLException("user " + scope.userId() + " of realm " + scope.realmId()
                        + " is no longer in zerver_userprofile (deleted since planning?)");
            }
            return new Outcome(Map.of(UserScope.USER_JSON, file.publish()), rows);
        }
    }
}
