package org.realmexport.worker;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.realmexport.common.config.RealmExportConfig;

import java.util.Map;
import java.util.UUID;

/** Settings of a {@link ShardWorker}: the shared ones of {@link RealmExportConfig} plus these. */
public final class ShardWorkerConfig extends RealmExportConfig {
    public static final String ZULIP_VERSION = "zulip.version";
    public static final String WORKER_ID = "worker.id";
    public static final String TRANSACTIONAL_ID = "transactional.id";
    public static final String SYSTEM_BOT_REALM = "system.bot.realm";
    public static final String POLL_TIMEOUT_MS = "poll.timeout.ms";
    public static final String MAX_POLL_RECORDS = "max.poll.records";
    public static final String MAX_POLL_INTERVAL_MS = "max.poll.interval.ms";
    public static final String DB_POOL_SIZE = "db.pool.size";
    public static final String CLOSE_TIMEOUT_MS = "close.timeout.ms";
    public static final String MIGRATION_STATUS_FILE = "migration.status.file";
    public static final String AVATAR_SALT = "avatar.salt";

    public static final ConfigDef CONFIG = baseConfigDef()
            .define(ZULIP_VERSION, Type.STRING, "11.0", Importance.HIGH,
                    "Zulip's ZULIP_VERSION, written as zulip_version in migration_status.json; the importer "
                            + "refuses an export whose major version differs from its own.")
            .define(WORKER_ID, Type.STRING, "", Importance.MEDIUM,
                    "Name of this worker in logs and task results; empty picks a random one, so that many "
                            + "workers can run in one JVM.")
            .define(TRANSACTIONAL_ID, Type.STRING, "", Importance.LOW,
                    "Kafka transactional.id of the worker's producer; empty derives <prefix>-shard-workers-<worker.id>. "
                            + "Two live workers must never share one (the older would be fenced).")
            .define(SYSTEM_BOT_REALM, Type.STRING, "zulipinternal", Importance.LOW,
                    "string_id of the realm of the cross-realm system bots (Zulip's SYSTEM_BOT_REALM).")
            .define(POLL_TIMEOUT_MS, Type.LONG, 500L, ConfigDef.Range.atLeast(10), Importance.LOW,
                    "How long one poll waits for tasks.")
            .define(MAX_POLL_RECORDS, Type.INT, 10, ConfigDef.Range.between(1, 100), Importance.LOW,
                    "Tasks taken per poll and committed in one Kafka transaction (group commit): a message"
                            + " shard is tens of ms of work, and a transaction per task cost about as much again."
                            + " Tasks reach workers by partition, so a batch takes none from an idle worker; a"
                            + " crash redoes at most one batch.")
            .define(MAX_POLL_INTERVAL_MS, Type.INT, 600_000, ConfigDef.Range.atLeast(1000), Importance.LOW,
                    "Longest one task may take before the group gives its partitions to another worker.")
            .define(DB_POOL_SIZE, Type.INT, 2, ConfigDef.Range.atLeast(1), Importance.LOW,
                    "Database connections of this worker.")
            .define(MIGRATION_STATUS_FILE, Type.STRING, "", Importance.LOW,
                    "A migration_status.json made on the Zulip server itself (Django's showmigrations, as "
                            + "Zulip's exporter writes it), copied into every export instead of the one derived "
                            + "from django_migrations; use it when the importer reports a migration mismatch.")
            .define(CLOSE_TIMEOUT_MS, Type.LONG, 5_000L, ConfigDef.Range.atLeast(0), Importance.LOW,
                    "How long close() waits for the task in flight before abandoning it (uncommitted: "
                            + "another worker redoes it).")
            .define(AVATAR_SALT, Type.PASSWORD, null, Importance.MEDIUM,
                    "Zulip's avatar_salt secret (/etc/zulip/zulip-secrets.conf). Local avatar files are"
                            + " named by a salted hash of the user id: without it, an export of a realm with"
                            + " uploaded avatars fails (unless uploads.allow.missing).");

    private final String workerId;

    public ShardWorkerConfig(Map<?, ?> originals) {
        super(CONFIG, originals);
        String id = getString(WORKER_ID);
        this.workerId = id == null || id.isBlank() ? "worker-" + UUID.randomUUID().toString().substring(0, 8) : id;
    }

    public String workerId() {
        return workerId;
    }

    /** The salt, or null when none is configured. Never logged. */
    String avatarSalt() {
        org.apache.kafka.common.config.types.Password salt = getPassword(AVATAR_SALT);
        return salt == null ? null : salt.value();
    }

    public String transactionalId() {
        String t = getString(TRANSACTIONAL_ID);
        return t == null || t.isBlank() ? topics().group("shard-workers") + "-" + workerId : t;
    }
}
