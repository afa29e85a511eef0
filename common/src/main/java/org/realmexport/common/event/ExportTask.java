package org.realmexport.common.event;

import java.net.URI;

/**
 * A unit of work for the shard workers, on {@code realm-export.config-tasks} (kind
 * {@code REALM_CONFIG}) or {@code realm-export.shard-tasks} (kind {@code MESSAGES}, and the file
 * copy kinds {@code UPLOADS}, {@code AVATARS}, {@code EMOJI}, {@code REALM_ICONS}), keyed by
 * {@link #key()}. The producer places shard-topic tasks on partitions by their estimated cost
 * (equal work per partition), not by the key's hash.
 *
 * @param v             format version
 * @param exportId      the export this task belongs to
 * @param kind          {@code REALM_CONFIG} or {@code MESSAGES}
 * @param realmId       zerver_realm.id
 * @param type          export type ({@link org.realmexport.common.ExportType#cliName()})
 * @param output        the export's directory: {@code file:///...} or {@code s3://bucket/prefix/zulip-export-<id>}
 *                      ({@link org.realmexport.common.storage.ExportStores#open}); the task's files go there
 * @param watermark     highest zerver_message.id at planning time; no task exports a higher id
 * @param shard         1-based shard number (MESSAGES), or batch number of a file copy kind; 0 for REALM_CONFIG
 * @param firstId       first message id of the shard, inclusive (MESSAGES); for a file copy batch the
 *                      first id of its rows (attachments, users, realm emoji), inclusive
 * @param lastId        last message id of the shard, inclusive (MESSAGES); last row id of a file copy batch
 * @param expectedCount number of messages planned for the shard (MESSAGES only); the file holds the
 *                      messages of its range as they are when it runs, fewer when some were deleted
 *                      since planning; for a file copy batch, the rows planned in it
 * @param tasksPlanned  total number of tasks of the export (config + shards)
 * @param userId        the user of a single-user export (kinds {@code USER} and {@code USER_MESSAGES}), else null
 */
public record ExportTask(int v, String exportId, Kind kind, long realmId, String type, URI output,
                         long watermark, int shard, long firstId, long lastId, int expectedCount,
                         int tasksPlanned, Long userId) implements Versioned {

    /**
     * {@code USER} writes a single-user export's user.json (on the config-task topic),
     * {@code USER_MESSAGES} one of its message files (on the shard-task topic). {@code UPLOADS},
     * {@code AVATARS}, {@code EMOJI} and {@code REALM_ICONS} copy a batch of a realm export's files
     * ({@link #isFileCopy()}, on the shard-task topic). A worker older than a kind cannot read such
     * a task and dead-letters it.
     */
    public enum Kind {
        REALM_CONFIG, MESSAGES, USER, USER_MESSAGES, UPLOADS, AVATARS, EMOJI, REALM_ICONS;

        /** Whether tasks of this kind copy files (uploads, avatars, emoji, realm icons). */
        public boolean isFileCopy() {
            return this == UPLOADS || this == AVATARS || this == EMOJI || this == REALM_ICONS;
        }

        /** The export's directory of a file copy kind, where its records.json goes: {@code uploads}, {@code realm_icons}. */
        public String category() {
            if (!isFileCopy()) {
                throw new IllegalStateException(this + " copies no files");
            }
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A task of a realm export. */
    public ExportTask(int v, String exportId, Kind kind, long realmId, String type, URI output, long watermark,
                      int shard, long firstId, long lastId, int expectedCount, int tasksPlanned) {
        this(v, exportId, kind, realmId, type, output, watermark, shard, firstId, lastId, expectedCount, tasksPlanned,
                null);
    }

    /**
     * {@code realm} for the config task, {@code user} for user.json, {@code messages-000042} for shard 42,
     * {@code uploads-000003} for the third batch of uploads.
     */
    public String taskId() {
        if (kind.isFileCopy()) {
            return String.format("%s-%06d", kind.category(), shard);
        }
        return switch (kind) {
            case REALM_CONFIG -> "realm";
            case USER -> "user";
            default -> messagesFileStem(shard);
        };
    }

    /** The file this task writes, relative to the export directory (the main one for config). */
    public String fileName() {
        return taskId() + ".json";
    }

    public String key() {
        return exportId + "/" + taskId();
    }

    public static String messagesFileStem(int shard) {
        return String.format("messages-%06d", shard);
    }
}
