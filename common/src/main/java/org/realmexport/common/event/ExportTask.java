package org.realmexport.common.event;

import java.net.URI;

/**
 * A unit of work for the shard workers, on {@code realm-export.config-tasks} (kind
 * {@code REALM_CONFIG}) or {@code realm-export.shard-tasks} (kind {@code MESSAGES}), keyed by
 * {@link #taskId()} so that redeliveries of a task land on the same partition.
 *
 * @param v             format version
 * @param exportId      the export this task belongs to
 * @param kind          {@code REALM_CONFIG} or {@code MESSAGES}
 * @param realmId       zerver_realm.id
 * @param type          export type ({@link org.realmexport.common.ExportType#cliName()})
 * @param output        the export's directory: {@code file:///...} or {@code s3://bucket/prefix/zulip-export-<id>}
 *                      ({@link org.realmexport.common.storage.ExportStores#open}); the task's files go there
 * @param watermark     highest zerver_message.id at planning time; no task exports a higher id
 * @param shard         1-based shard number (MESSAGES only; 0 for REALM_CONFIG)
 * @param firstId       first message id of the shard, inclusive (MESSAGES only)
 * @param lastId        last message id of the shard, inclusive (MESSAGES only)
 * @param expectedCount number of messages planned for the shard (MESSAGES only); the file holds the
 *                      messages of its range as they are when it runs, fewer when some were deleted
 *                      since planning
 * @param tasksPlanned  total number of tasks of the export (config + shards)
 * @param userId        the user of a single-user export (kinds {@code USER} and {@code USER_MESSAGES}), else null
 */
public record ExportTask(int v, String exportId, Kind kind, long realmId, String type, URI output,
                         long watermark, int shard, long firstId, long lastId, int expectedCount,
                         int tasksPlanned, Long userId) implements Versioned {

    /**
     * {@code USER} writes a single-user export's user.json (on the config-task topic),
     * {@code USER_MESSAGES} one of its message files (on the shard-task topic). A worker older
     * than them cannot read such a task and dead-letters it.
     */
    public enum Kind { REALM_CONFIG, MESSAGES, USER, USER_MESSAGES }

    /** A task of a realm export. */
    public ExportTask(int v, String exportId, Kind kind, long realmId, String type, URI output, long watermark,
                      int shard, long firstId, long lastId, int expectedCount, int tasksPlanned) {
        this(v, exportId, kind, realmId, type, output, watermark, shard, firstId, lastId, expectedCount, tasksPlanned,
                null);
    }

    /** {@code realm} for the config task, {@code user} for user.json, {@code messages-000042} for shard 42. */
    public String taskId() {
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
