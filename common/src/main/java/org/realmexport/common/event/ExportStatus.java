package org.realmexport.common.event;

import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * The latest word on an export, on the compacted {@code realm-export.status} topic keyed by
 * export id: the last record per key is the export's state.
 *
 * @param v            format version
 * @param exportId     export id
 * @param requestId    the request it came from
 * @param realmId      zerver_realm.id (null when the realm was not found)
 * @param realm        the realm as requested (id or string_id)
 * @param type         export type
 * @param state        life-cycle state
 * @param tasksPlanned config + shard tasks (shards + 1). Set by the producer's PLANNED status, which
 *                     it posts in the same transaction as every task of the export, so a
 *                     {@code read_committed} reader that sees PLANNED can count on it; the tasks and
 *                     their results carry the same number. 0 in a FAILED-at-planning status.
 * @param tasksDone    distinct tasks reported
 * @param watermark    highest message id in scope
 * @param messages     messages planned (a live database may change that: the messages written are
 *                     {@code rows.zerver_message})
 * @param output       the export directory ({@code file:///...} or {@code s3://...})
 * @param tarball      where the tarball is (SUCCEEDED): a local path, or {@code s3://bucket/key}; what
 *                     zerver_realmexport.export_path gets
 * @param sha256       the tarball's sha256 (SUCCEEDED)
 * @param size         the tarball's size in bytes (SUCCEEDED)
 * @param rows         rows per table actually written so far (final at SUCCEEDED)
 * @param error        the anomaly (FAILED)
 * @param realmExportId the zerver_realmexport row to update, when the export came from one
 * @param updatedAt    epoch milliseconds
 * @param skippedTables tables of Zulip's schema this build does not know that the operator chose
 *                     to export without ({@code tables.skip}); null or empty when none
 * @param bytesWritten bytes of the export's files its tasks have written so far (the files' own sizes,
 *                     as the tasks reported them; the tarball's is {@code size}); null before the first
 *                     task reported, and in statuses of earlier versions
 * @param userId       the user of a single-user export (its {@code type} is
 *                     {@link org.realmexport.common.db.UserScope#TYPE}), else null
 */
public record ExportStatus(int v, String exportId, String requestId, Long realmId, String realm,
                           String type, ExportState state, int tasksPlanned, int tasksDone,
                           long watermark, long messages, URI output, String tarball,
                           String sha256, Long size, Map<String, Long> rows, String error,
                           Long realmExportId, long updatedAt, List<String> skippedTables,
                           Long bytesWritten, Long userId) implements Versioned {

    /** A status of a realm export. */
    public ExportStatus(int v, String exportId, String requestId, Long realmId, String realm,
                        String type, ExportState state, int tasksPlanned, int tasksDone,
                        long watermark, long messages, URI output, String tarball,
                        String sha256, Long size, Map<String, Long> rows, String error,
                        Long realmExportId, long updatedAt, List<String> skippedTables, Long bytesWritten) {
        this(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone, watermark, messages,
                output, tarball, sha256, size, rows, error, realmExportId, updatedAt, skippedTables, bytesWritten, null);
    }

    /** A status without skipped tables. */
    public ExportStatus(int v, String exportId, String requestId, Long realmId, String realm,
                        String type, ExportState state, int tasksPlanned, int tasksDone,
                        long watermark, long messages, URI output, String tarball,
                        String sha256, Long size, Map<String, Long> rows, String error,
                        Long realmExportId, long updatedAt) {
        this(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone, watermark, messages,
                output, tarball, sha256, size, rows, error, realmExportId, updatedAt, null);
    }

    /** A status without bytes written. */
    public ExportStatus(int v, String exportId, String requestId, Long realmId, String realm,
                        String type, ExportState state, int tasksPlanned, int tasksDone,
                        long watermark, long messages, URI output, String tarball,
                        String sha256, Long size, Map<String, Long> rows, String error,
                        Long realmExportId, long updatedAt, List<String> skippedTables) {
        this(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone, watermark, messages,
                output, tarball, sha256, size, rows, error, realmExportId, updatedAt, skippedTables, null);
    }

    /** A copy naming the tables exported without ({@code tables.skip}); none gives null. */
    public ExportStatus withSkippedTables(List<String> tables) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone,
                watermark, messages, output, tarball, sha256, size, rows, error, realmExportId, updatedAt,
                tables == null || tables.isEmpty() ? null : List.copyOf(tables), bytesWritten, userId);
    }

    /** A copy for the single-user export of {@code user}. */
    public ExportStatus withUser(Long user) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone,
                watermark, messages, output, tarball, sha256, size, rows, error, realmExportId, updatedAt,
                skippedTables, bytesWritten, user);
    }

    /** A copy with the rows written. */
    public ExportStatus withRows(Map<String, Long> newRows) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type, state, tasksPlanned, tasksDone,
                watermark, messages, output, tarball, sha256, size, newRows, error, realmExportId, updatedAt,
                skippedTables, bytesWritten, userId);
    }

    /** Messages written so far ({@code rows.zerver_message}), or null before any shard reported. */
    public Long messagesWritten() {
        return rows == null ? null : rows.get("zerver_message");
    }

    public ExportStatus withState(ExportState newState, String newError) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type, newState, tasksPlanned,
                tasksDone, watermark, messages, output, tarball, sha256, size, rows, newError,
                realmExportId, System.currentTimeMillis(), skippedTables, bytesWritten, userId);
    }

    public ExportStatus withProgress(int done, Map<String, Long> newRows, Long newBytesWritten) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type,
                state == ExportState.PLANNED ? ExportState.RUNNING : state, tasksPlanned, done,
                watermark, messages, output, tarball, sha256, size, newRows, error, realmExportId,
                System.currentTimeMillis(), skippedTables, newBytesWritten, userId);
    }

    public ExportStatus succeeded(String tarballPath, String tarballSha256, long tarballSize) {
        return new ExportStatus(v, exportId, requestId, realmId, realm, type, ExportState.SUCCEEDED,
                tasksPlanned, tasksDone, watermark, messages, output, tarballPath, tarballSha256,
                tarballSize, rows, null, realmExportId, System.currentTimeMillis(), skippedTables, bytesWritten, userId);
    }
}
