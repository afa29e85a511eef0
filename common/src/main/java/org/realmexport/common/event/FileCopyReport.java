package org.realmexport.common.event;

import java.util.List;

/**
 * What one file copy task ({@link ExportTask.Kind#isFileCopy()}) did: the files it copied into the
 * export, each with its records.json entry, and the files the realm refers to that it could not
 * find. Hundreds of records would swell the task result (and the assembler's state), so the worker
 * writes this as a small file of the export store, {@link #path(String)}, and reports that file's
 * size and sha256 in its {@link TaskResult#files()}; the assembler reads it back and merges the
 * reports of every batch into the records.json files.
 *
 * @param v       format version
 * @param copied  the files copied, in the order found
 * @param missing the referenced files not found, in the order found
 * @param causes  why files are missing, when a setting explains it (no uploads source, no avatar salt)
 */
public record FileCopyReport(int v, List<Copied> copied, List<Missing> missing, List<String> causes)
        implements Versioned {

    /** Where a task's report is kept in the export store: outside the export proper, never packed. */
    public static final String DIRECTORY = ".copied";

    public static String path(String taskId) {
        return DIRECTORY + "/" + taskId + ".json";
    }

    /**
     * One copied file.
     *
     * @param path         its path in the export ({@code uploads/2/ab/x/photo.png})
     * @param size         bytes
     * @param sha256       of its bytes
     * @param attachmentId the zerver_attachment it is the upload of (uploads only): the assembler
     *                     keeps it only when attachment.json keeps the attachment
     * @param record       its records.json entry, as JSON text exactly as it goes into the file
     */
    public record Copied(String path, long size, String sha256, Long attachmentId, String record) {
    }

    /**
     * One missing file.
     *
     * @param category the export's file category: uploads, avatars, emoji, realm_icons
     * @param path     where it should be, relative to the uploads directory; null when it cannot
     *                 be known (an avatar without the avatar salt)
     * @param ownerKey what it belongs to, as a stats.json field: attachment_id, user_profile_id,
     *                 realm_emoji_id, realm_id
     * @param ownerId  the id of that row
     * @param owner    that row for an operator (e.g. "the avatar of user 12 (iago@zulip.com)")
     */
    public record Missing(String category, String path, String ownerKey, long ownerId, String owner) {
        public String describe() {
            return path == null ? owner : path + " (" + owner + ")";
        }
    }
}
