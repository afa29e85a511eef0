package org.realmexport.producer;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.realmexport.common.config.RealmExportConfig;

import java.util.Map;
import java.util.UUID;

/** Settings of the {@link ExportProducer}: the shared ones of {@link RealmExportConfig} plus these. */
public final class ExportProducerConfig extends RealmExportConfig {
    public static final String OUTPUT_DIR = "output.dir";
    public static final String PRODUCER_ID = "producer.id";
    public static final String SYSTEM_BOT_REALM = "system.bot.realm";
    public static final String POLL_TIMEOUT_MS = "poll.timeout.ms";
    public static final String STATUS_READ_TIMEOUT_MS = "status.read.timeout.ms";
    public static final String WATCH_REALMEXPORT = "watch.realmexport";
    public static final String WATCH_SLOT_NAME = "watch.slot.name";
    public static final String WATCH_PUBLICATION_NAME = "watch.publication.name";
    public static final String WATCH_SNAPSHOT_MODE = "watch.snapshot.mode";
    public static final String WATCH_OFFSETS_FILE = "watch.offsets.file";
    public static final String WATCH_OFFSET_FLUSH_MS = "watch.offset.flush.interval.ms";
    public static final String WATCH_JDBC_USER = "watch.jdbc.user";
    public static final String WATCH_JDBC_PASSWORD = "watch.jdbc.password";
    public static final String WATCH_START_TIMEOUT_MS = "watch.start.timeout.ms";
    public static final String TABLES_SKIP = "tables.skip";

    public static final ConfigDef CONFIG = baseConfigDef()
            .define(OUTPUT_DIR, Type.STRING, "export-out", Importance.MEDIUM,
                    "Where exports go when a request names no output: the export directory is "
                            + "<output>/zulip-export-<id>/ (made absolute on this host; workers must see the same path).")
            .define(PRODUCER_ID, Type.STRING, "", Importance.LOW,
                    "Name of this producer instance; its transactional.id is <prefix>-producer-<producer.id>. "
                            + "Empty picks a random one.")
            .define(SYSTEM_BOT_REALM, Type.STRING, "zulipinternal", Importance.LOW,
                    "string_id of the realm of the cross-realm system bots (Zulip's SYSTEM_BOT_REALM).")
            .define(POLL_TIMEOUT_MS, Type.LONG, 500L, ConfigDef.Range.atLeast(10), Importance.LOW,
                    "How long one poll of the requests topic waits.")
            .define(STATUS_READ_TIMEOUT_MS, Type.LONG, 60_000L, ConfigDef.Range.atLeast(100), Importance.LOW,
                    "How long start-up may take to read the status topic (the exports already planned).")
            .define(WATCH_REALMEXPORT, Type.BOOLEAN, false, Importance.MEDIUM,
                    "Watch Zulip's zerver_realmexport table (Debezium, pgoutput) and export each new row with status 1 "
                            + "(REQUESTED), writing its progress back to the row (--watch-realmexport). Run it on one producer.")
            .define(WATCH_SLOT_NAME, Type.STRING, "realm_export_watcher", Importance.LOW,
                    "Name of the watcher's PostgreSQL replication slot; while the watcher is down the slot keeps the "
                            + "changes it has not seen yet. Drop the slot when you stop using the watcher.")
            .define(WATCH_PUBLICATION_NAME, Type.STRING, "realm_export_watcher", Importance.LOW,
                    "Name of the publication of zerver_realmexport; created (filtered to that table) when missing.")
            .define(WATCH_SNAPSHOT_MODE, Type.STRING, "initial", Importance.LOW,
                    "Debezium snapshot.mode: initial reads the table once when the slot is new (rows already waiting "
                            + "in status 1 are exported); no_data starts from the slot's creation and misses them.")
            .define(WATCH_OFFSETS_FILE, Type.STRING, "", Importance.LOW,
                    "File of the watcher's Debezium offsets; empty keeps them in the Kafka topic <prefix>.watcher-offsets.")
            .define(WATCH_OFFSET_FLUSH_MS, Type.LONG, 1_000L, ConfigDef.Range.atLeast(10), Importance.LOW,
                    "How often the watcher stores its offsets; a row seen again after a crash is the same export.")
            .define(WATCH_JDBC_USER, Type.STRING, null, Importance.MEDIUM,
                    "Database role of the watcher's replication slot and of its writes to zerver_realmexport "
                            + "(REPLICATION, SELECT and UPDATE on that table); empty uses jdbc.user.")
            .define(WATCH_JDBC_PASSWORD, Type.PASSWORD, null, Importance.MEDIUM,
                    "Password of watch.jdbc.user.")
            .define(WATCH_START_TIMEOUT_MS, Type.LONG, 60_000L, ConfigDef.Range.atLeast(100), Importance.LOW,
                    "How long the watcher may take to start capturing (replication slot, publication, snapshot).")
            .define(TABLES_SKIP, Type.LIST, "", Importance.MEDIUM,
                    "Tables of Zulip's schema that this version of realm-export does not know and may export without "
                            + "(comma-separated). An export meeting an unknown table not listed here fails at planning, "
                            + "naming it; the skipped tables are listed in stats.json and in the export's status.");

    private final String producerId;

    public ExportProducerConfig(Map<?, ?> originals) {
        super(CONFIG, originals);
        String id = getString(PRODUCER_ID);
        this.producerId = id == null || id.isBlank() ? UUID.randomUUID().toString().substring(0, 8) : id;
    }

    public String producerId() {
        return producerId;
    }

    public String transactionalId() {
        return topics().group("producer") + "-" + producerId;
    }
}
