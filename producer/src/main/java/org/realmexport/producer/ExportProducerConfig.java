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
