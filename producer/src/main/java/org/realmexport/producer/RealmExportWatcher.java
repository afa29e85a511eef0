package org.realmexport.producer;

import com.fasterxml.jackson.databind.JsonNode;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.realmexport.common.ExportId;
import org.realmexport.common.ExportType;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.metrics.ServiceMetrics;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Exports what Zulip's web UI asks for: Debezium's embedded engine captures
 * {@code zerver_realmexport} (PostgreSQL connector, pgoutput, a publication filtered to that
 * table, a named replication slot) and each new row with status 1 (REQUESTED) becomes an
 * {@link ExportRequest} on the requests topic, of the row's type for the row's realm; the
 * producer plans it like any other request. {@link RealmExportWriteBack} then writes the export's
 * progress back to the row.
 *
 * <p>Exactly one export per row: the request id is derived from the row id
 * ({@link #requestId(long)}), and the producer plans a request id once; so a row that Debezium
 * delivers again (after a crash before its offset was stored) is the same export. A row inserted
 * while the watcher is down waits in the replication slot and is exported when it comes back.
 * A row whose type this build cannot export ends in status 4 with the reason logged.
 */
public final class RealmExportWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RealmExportWatcher.class);
    static final String TABLE = "zerver_realmexport";

    private final ExportProducerConfig config;
    private final Topics topics;
    private final MeterRegistry registry;
    private final CountDownLatch taskStarted = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopped;
    private ServiceMetrics metrics;
    private Counter requested;
    private RealmExportTable table;
    private RealmExportWriteBack writeBack;
    private KafkaProducer<String, byte[]> producer;
    private DebeziumEngine<ChangeEvent<String, String>> engine;
    private ExecutorService executor;

    public RealmExportWatcher(Map<String, ?> config) {
        this(config, null);
    }

    /** {@code registry}: where the meters go; null serves them on {@code metrics.port} unless the producer does. */
    public RealmExportWatcher(Map<String, ?> config, MeterRegistry registry) {
        this.config = new ExportProducerConfig(config);
        this.topics = this.config.topics();
        this.registry = registry;
    }

    /** The request id of a row: the same row always gives the same export. */
    public static String requestId(long rowId) {
        return "zerver_realmexport-" + rowId;
    }

    /**
     * Creates missing topics, starts the write-back, then the engine, and returns once the
     * engine's task has started: from then on every insert into zerver_realmexport is captured.
     */
    public synchronized RealmExportWatcher start() {
        if (engine != null) {
            throw new IllegalStateException("watcher already started");
        }
        config.ensureTopics();
        try {
            metrics = ServiceMetrics.open(config, registry, "producer");
            requested = Counter.builder("realm.export.watcher.requests")
                    .description("zerver_realmexport rows in status 1 turned into export requests")
                    .register(metrics.registry());
            table = new RealmExportTable(config);
            Properties pp = config.kafkaProperties();
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.CLIENT_ID_CONFIG, "realmexport-watcher-" + config.producerId());
            producer = new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer());
            writeBack = new RealmExportWriteBack(config, table).start();
            engine = DebeziumEngine.create(Json.class)
                    .using(engineProperties())
                    .using(new DebeziumEngine.ConnectorCallback() {
                        @Override
                        public void taskStarted() {
                            taskStarted.countDown();
                        }
                    })
                    .using((success, message, error) -> {
                        if (!success && !stopped) {
                            failure.set(error != null ? error : new IllegalStateException(message));
                            LOG.error("zerver_realmexport watcher stopped: {}. Check the database role (REPLICATION),"
                                    + " wal_level=logical and the slot {}, then restart the producer.", message,
                                    config.getString(ExportProducerConfig.WATCH_SLOT_NAME), error);
                        }
                        taskStarted.countDown();
                    })
                    .notifying(this::handleBatch)
                    .build();
            executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "realmexport-watcher"));
            executor.execute(engine);
            if (!taskStarted.await(config.getLong(ExportProducerConfig.WATCH_START_TIMEOUT_MS), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("the Debezium engine did not start within "
                        + config.getLong(ExportProducerConfig.WATCH_START_TIMEOUT_MS) + " ms");
            }
            if (failure.get() != null) {
                throw new IllegalStateException(failure.get().getMessage(), failure.get());
            }
        } catch (Exception e) {
            close();
            throw new IllegalStateException("zerver_realmexport watcher cannot start: "
                    + org.realmexport.common.db.Database.redact(String.valueOf(e.getMessage())), e);
        }
        LOG.info("watching {} (slot {}, publication {}) for export requests", TABLE,
                config.getString(ExportProducerConfig.WATCH_SLOT_NAME),
                config.getString(ExportProducerConfig.WATCH_PUBLICATION_NAME));
        return this;
    }

    public boolean isRunning() {
        return !stopped && failure.get() == null && writeBack != null && writeBack.isRunning()
                && executor != null && !executor.isTerminated();
    }

    private Properties engineProperties() {
        Properties url = org.postgresql.Driver.parseURL(table.url(), null);
        if (url == null) {
            throw new IllegalArgumentException("jdbc.url is not a PostgreSQL URL");
        }
        String schema = url.getProperty("currentSchema", "public").split(",")[0].trim();
        Properties p = new Properties();
        p.setProperty("name", topics.group("realmexport-watcher"));
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("database.hostname", url.getProperty("PGHOST", "localhost").split(",")[0]);
        p.setProperty("database.port", url.getProperty("PGPORT", "5432").split(",")[0]);
        p.setProperty("database.dbname", url.getProperty("PGDBNAME"));
        Properties login = table.login();
        String user = login.getProperty("user", url.getProperty("user"));
        if (user != null) {
            p.setProperty("database.user", user);
        }
        String password = login.getProperty("password", url.getProperty("password"));
        if (password != null) {
            p.setProperty("database.password", password);
        }
        p.setProperty("topic.prefix", topics.prefix().replaceAll("[^a-zA-Z0-9_]", "_") + "_watcher");
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", config.getString(ExportProducerConfig.WATCH_SLOT_NAME));
        p.setProperty("publication.name", config.getString(ExportProducerConfig.WATCH_PUBLICATION_NAME));
        p.setProperty("publication.autocreate.mode", "filtered");
        p.setProperty("table.include.list", schema + "." + TABLE);
        p.setProperty("snapshot.mode", config.getString(ExportProducerConfig.WATCH_SNAPSHOT_MODE));
        p.setProperty("tombstones.on.delete", "false");
        p.setProperty("converter.schemas.enable", "false");
        p.setProperty("offset.flush.interval.ms", String.valueOf(config.getLong(ExportProducerConfig.WATCH_OFFSET_FLUSH_MS)));
        String file = config.getString(ExportProducerConfig.WATCH_OFFSETS_FILE);
        if (file != null && !file.isBlank()) {
            p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
            p.setProperty("offset.storage.file.filename", file);
        } else {
            p.setProperty("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore");
            p.setProperty("offset.storage.topic", topics.prefix() + ".watcher-offsets");
            p.setProperty("offset.storage.partitions", "1");
            p.setProperty("offset.storage.replication.factor",
                    String.valueOf(config.getShort(ExportProducerConfig.REPLICATION_FACTOR)));
            config.kafkaProperties().forEach((k, v) -> p.setProperty(String.valueOf(k), String.valueOf(v)));
        }
        return p;
    }

    private void handleBatch(List<ChangeEvent<String, String>> records,
                             DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer)
            throws InterruptedException {
        for (ChangeEvent<String, String> record : records) {
            try {
                handle(record);
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // the offset is not marked: the engine stops and the row comes again after a restart
                throw new IllegalStateException("zerver_realmexport change not handled: " + e.getMessage(), e);
            }
            committer.markProcessed(record);
        }
        committer.markBatchFinished();
    }

    /** A new row with status 1 becomes a request; anything else (updates, other statuses) is ignored. */
    private void handle(ChangeEvent<String, String> record) throws Exception {
        if (record.value() == null) {
            return;
        }
        JsonNode event = org.realmexport.common.Json.MAPPER.readTree(record.value());
        JsonNode payload = event.has("payload") ? event.get("payload") : event;
        String op = payload.path("op").asText("");
        JsonNode row = payload.get("after");
        if (!(op.equals("c") || op.equals("r")) || row == null || row.isNull()) {
            return;
        }
        if (row.path("status").asInt() != RealmExportTable.REQUESTED) {
            return;
        }
        long rowId = row.path("id").asLong();
        long realmId = row.path("realm_id").asLong();
        int type = row.path("type").asInt();
        String requestId = requestId(rowId);
        String exportId = ExportId.forRequest(requestId);
        try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, exportId)) {
            ExportType exportType;
            try {
                exportType = ExportType.ofZulipCode(type);
            } catch (IllegalArgumentException e) {
                LOG.error("zerver_realmexport row {} (realm {}) has type {}, which this build cannot export (known:"
                        + " 1 public, 2 full with consent, 3 full); the row is marked failed (status 4)", rowId,
                        realmId, type);
                table.failed(rowId, System.currentTimeMillis());
                return;
            }
            ExportRequest request = new ExportRequest(Versioned.CURRENT, requestId, Long.toString(realmId),
                    exportType.cliName(), null, rowId, System.currentTimeMillis());
            producer.send(new ProducerRecord<>(topics.requests(), requestId,
                    org.realmexport.common.Json.toBytes(request))).get(30, TimeUnit.SECONDS);
            requested.increment();
            LOG.info("zerver_realmexport row {} (realm {}, type {}) requested as export {}", rowId, realmId,
                    exportType.cliName(), exportId);
            markStarted(rowId);
        }
    }

    /**
     * Status 2 (STARTED) and date_started as soon as the request is posted, as Zulip's worker marks a
     * row when it takes it up: the producer plans it next. Not done here (the database away), the
     * write-back does it when the plan is posted.
     */
    private void markStarted(long rowId) {
        try {
            if (table.started(rowId, System.currentTimeMillis())) {
                LOG.info("zerver_realmexport row {}: status 2 (STARTED)", rowId);
            }
        } catch (SQLException e) {
            LOG.warn("zerver_realmexport row {}: status 2 not written yet ({}); it is written when the export is"
                    + " planned", rowId, e.getMessage());
        }
    }

    /** The port this service serves /metrics on (metrics.port, 0 picks one), or -1. */
    public int metricsPort() {
        return metrics == null ? -1 : metrics.port();
    }

    @Override
    public synchronized void close() {
        stopped = true;
        if (engine != null) {
            try {
                engine.close();
            } catch (Exception e) {
                LOG.debug("closing the Debezium engine", e);
            }
        }
        if (executor != null) {
            executor.shutdown();
            try {
                if (!executor.awaitTermination(15, TimeUnit.SECONDS)) {
                    executor.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (writeBack != null) {
            writeBack.close();
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(2));
        }
        if (table != null) {
            table.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }
}
