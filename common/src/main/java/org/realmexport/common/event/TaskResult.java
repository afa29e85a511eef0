package org.realmexport.common.event;

import java.util.List;
import java.util.Map;

/**
 * What a worker reports on {@code realm-export.shard-results} after its file is durably in
 * place, keyed by export id. One per task; redeliveries carry the same task id and are counted
 * once by the assembler.
 *
 * @param v           format version
 * @param exportId    export id
 * @param taskId      {@link ExportTask#taskId()}
 * @param tasksPlanned total tasks of the export, copied from the task
 * @param files       the files this task wrote (relative path to size and sha256)
 * @param rows        rows written per table (e.g. zerver_message: 1000)
 * @param attachments attachment id to the exported message ids (this task's) that reference it
 * @param scheduledAttachments attachment id to exported scheduled message ids (config task)
 * @param clients     zerver_client ids referenced by this task's rows
 * @param messageIds  {@code [firstId, lastId]} actually exported by a MESSAGES task
 * @param messageIdSet every message id the MESSAGES task exported ({@link MessageIdSet}), so that
 *                    the assembler need not read the file back
 * @param references  the users and recipients the MESSAGES task's rows refer to, distinct and
 *                    ascending, by kind ({@link #MESSAGE_SENDER}, {@link #MESSAGE_RECIPIENT},
 *                    {@link #USERMESSAGE_USER}): checked by the assembler against realm.json
 * @param error       null on success; otherwise the anomaly that fails the export
 * @param worker      the worker that ran it (for operators; never part of any file)
 * @param copiedBytes bytes of the files a file copy batch wrote besides {@code files} (which then names
 *                    only its report: the copied files are listed there), null for other tasks
 */
public record TaskResult(int v, String exportId, String taskId, int tasksPlanned,
                         Map<String, FileInfo> files, Map<String, Long> rows,
                         Map<Long, List<Long>> attachments, Map<Long, List<Long>> scheduledAttachments,
                         List<Long> clients, List<Long> messageIds, String messageIdSet,
                         Map<String, List<Long>> references, String error, String worker, Long copiedBytes)
        implements Versioned {

    /** A result without copied files: every file the task wrote is in {@code files}. */
    public TaskResult(int v, String exportId, String taskId, int tasksPlanned, Map<String, FileInfo> files,
                      Map<String, Long> rows, Map<Long, List<Long>> attachments,
                      Map<Long, List<Long>> scheduledAttachments, List<Long> clients, List<Long> messageIds,
                      String messageIdSet, Map<String, List<Long>> references, String error, String worker) {
        this(v, exportId, taskId, tasksPlanned, files, rows, attachments, scheduledAttachments, clients, messageIds,
                messageIdSet, references, error, worker, null);
    }

    public static final String MESSAGE_SENDER = "message_sender";
    public static final String MESSAGE_RECIPIENT = "message_recipient";
    public static final String USERMESSAGE_USER = "usermessage_user";

    /** Size and checksum of one written file. */
    public record FileInfo(long size, String sha256) {
    }

    public boolean failed() {
        return error != null;
    }

    /** Bytes of every file the task wrote: those of {@code files} and the copied ones. */
    public long bytesWritten() {
        long bytes = files == null ? 0 : files.values().stream().mapToLong(FileInfo::size).sum();
        return copiedBytes == null ? bytes : bytes + copiedBytes;
    }
}
