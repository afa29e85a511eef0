package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.db.ZulipRowWriter;
import org.realmexport.common.storage.local.AtomicFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Writes attachment.json: the realm's attachments used by at least one exported message or
 * exported scheduled message, each with its {@code messages} and {@code scheduled_messages} lists
 * cut down to the exported ones (Zulip's {@code fetch_attachment_data}). The links come from the
 * workers' reports and are intersected again with the message ids actually in the message files,
 * so no attachment points at a message that is not in the export, and one used only by
 * unexported messages is left out.
 */
final class AttachmentExporter {
    static final String FILE = "attachment.json";
    static final String TABLE = "zerver_attachment";
    private static final Logger LOG = LoggerFactory.getLogger(AttachmentExporter.class);

    /** An exported attachment, for the copy of its file; one per attachment of the export. */
    record Exported(long id, String pathId, long ownerId, long realmId) {
    }

    record Result(List<Exported> attachments, AtomicFile.Written file) {
    }

    private AttachmentExporter() {
    }

    static Result export(Connection connection, SchemaCatalog catalog, long realmId, ResultSummary summary,
                         ExportedMessages exported, Set<Long> scheduledIds, ExportOutput out)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        Set<Long> ids = new TreeSet<>(summary.attachmentMessages.keySet());
        ids.addAll(summary.attachmentScheduled.keySet());
        ZulipRowWriter writer = ZulipRowWriter.forTable(catalog.require(TABLE));
        int idIndex = writer.indexOf("id");
        int realmIndex = writer.indexOf("realm");
        int ownerIndex = writer.indexOf("owner");
        int pathIndex = writer.indexOf("path_id");
        List<Exported> attachments = new ArrayList<>();
        long[] counts = new long[4]; // found, other realm, unused, links dropped
        AtomicFile.Written file = out.writeJson(FILE, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart(TABLE);
            try (PreparedStatement ps = ZulipRowWriter.prepare(connection, writer.query("t.id = ANY(?)"),
                    List.of(new ArrayList<>(ids))); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    counts[0]++;
                    long id = rs.getLong(idIndex);
                    long[] reported = summary.attachmentMessages.getOrDefault(id, new long[0]);
                    long[] messages = Arrays.stream(reported).filter(exported::contains).toArray();
                    long[] reportedScheduled = summary.attachmentScheduled.getOrDefault(id, new long[0]);
                    long[] scheduled = Arrays.stream(reportedScheduled).filter(scheduledIds::contains).toArray();
                    counts[3] += reported.length - messages.length + reportedScheduled.length - scheduled.length;
                    if (messages.length == 0 && scheduled.length == 0) {
                        counts[2]++;
                        continue;
                    }
                    if (rs.getLong(realmIndex) != realmId) {
                        counts[1]++; // Zulip exports only the realm's own attachments
                        continue;
                    }
                    String pathId = SafePaths.relative(rs.getString(pathIndex), "path_id of attachment " + id);
                    writer.writeRow(g, rs, extra -> {
                        writeIds(extra, "messages", messages);
                        writeIds(extra, "scheduled_messages", scheduled);
                    });
                    attachments.add(new Exported(id, pathId, rs.getLong(ownerIndex), realmId));
                    if (attachments.size() % 10_000 == 0 && Thread.interrupted()) {
                        throw new InterruptedException("finalizing interrupted");
                    }
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        });
        if (counts[0] < ids.size()) {
            LOG.warn("export {}: {} attachments referenced by exported messages no longer exist; left out",
                    out.exportId(), ids.size() - counts[0]);
        }
        if (counts[1] > 0) {
            LOG.warn("export {}: {} attachments of other realms are referenced by exported messages; left out,"
                    + " as Zulip's own export does", out.exportId(), counts[1]);
        }
        if (counts[3] > 0) {
            LOG.info("export {}: {} attachment links to messages outside the export removed ({} attachments"
                    + " left out entirely)", out.exportId(), counts[3], counts[2]);
        }
        return new Result(attachments, file);
    }

    private static void writeIds(JsonGenerator g, String field, long[] ids) throws IOException {
        g.writeFieldName(field);
        g.writeArray(ids, 0, ids.length);
    }
}
