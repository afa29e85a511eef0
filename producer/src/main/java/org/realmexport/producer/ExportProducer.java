package org.realmexport.producer;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.realmexport.common.ExportId;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.ZulipTables;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The export producer: consumes {@code <prefix>.requests} (group {@code <prefix>-producer}),
 * validates each request, plans the export ({@link ExportPlanner}) and posts, in ONE Kafka
 * transaction together with the request's offset: the REALM_CONFIG task, one MESSAGES task per
 * shard, and the PLANNED {@link ExportStatus}. Consumers reading {@code read_committed} never see
 * half a plan.
 *
 * <p>Contract for the assembler: the PLANNED status carries {@code tasks_planned} (shards + 1),
 * the watermark and the message count; it is the authority on how many results to wait for.
 * Tasks carry the same {@code tasks_planned} (the plan is complete before anything is sent).
 *
 * <p>Outcomes per request: malformed (bad JSON, missing request_id / realm / type, unknown type,
 * newer {@code v}) goes to the dead-letter topic with the original bytes; an unknown realm, an
 * unsupported export type or an unusable output gives a FAILED status with the reason; a request
 * id whose export already has a status is skipped (idempotent).
 */
public final class ExportProducer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExportProducer.class);
    private static final String SERVICE = "producer";

    private final ExportProducerConfig config;
    private final Topics topics;
    /** tables.skip: unknown tables the operator lets an export go without. */
    private final Set<String> skippedTables;
    private volatile boolean running;
    private volatile Thread thread;
    private Database database;
    private ExportPlanner planner;
    private PlannedExports planned;
    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;

    public ExportProducer(Map<String, ?> config) {
        this.config = new ExportProducerConfig(config);
        this.topics = this.config.topics();
        this.skippedTables = Set.copyOf(this.config.getList(ExportProducerConfig.TABLES_SKIP));
    }

    /** Creates missing topics, reads the status topic, connects, and starts consuming requests. */
    public synchronized ExportProducer start() {
        if (thread != null) {
            throw new IllegalStateException("producer already started");
        }
        try (Admin admin = Admin.create(config.kafkaProperties())) {
            topics.ensureCreated(admin, config.getInt(ExportProducerConfig.TASK_PARTITIONS),
                    config.getShort(ExportProducerConfig.REPLICATION_FACTOR));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
        try {
            database = Database.open(config, 2, SERVICE + "-" + config.producerId());
            planner = new ExportPlanner(database, config.getString(ExportProducerConfig.SYSTEM_BOT_REALM));
            planned = new PlannedExports(config.kafkaProperties(), topics.status());
            planned.catchUp(statusTimeout());
            Properties pp = config.kafkaProperties();
            pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.transactionalId());
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.CLIENT_ID_CONFIG, SERVICE + "-" + config.producerId());
            producer = new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer());
            producer.initTransactions();
            Properties cp = config.kafkaProperties();
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, topics.group(SERVICE));
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10);
            cp.put(ConsumerConfig.CLIENT_ID_CONFIG, SERVICE + "-" + config.producerId());
            consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new ByteArrayDeserializer());
        } catch (Exception e) {
            closeClients();
            throw new IllegalStateException("export producer cannot start: " + Database.redact(e.getMessage()), e);
        }
        running = true;
        thread = new Thread(this::run, "export-producer-" + config.producerId());
        thread.start();
        LOG.info("export producer {} started: {} exports already known, database {}", config.producerId(),
                planned.size(), database.describe());
        return this;
    }

    public boolean isRunning() {
        Thread t = thread;
        return running && t != null && t.isAlive();
    }

    @Override
    public void close() {
        running = false;
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            KafkaConsumer<String, byte[]> c = consumer;
            if (c != null) {
                c.wakeup();
            }
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (t == null) {
            closeClients();
        }
    }

    private Duration statusTimeout() {
        return Duration.ofMillis(config.getLong(ExportProducerConfig.STATUS_READ_TIMEOUT_MS));
    }

    private void run() {
        try {
            consumer.subscribe(List.of(topics.requests()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    // another instance may have planned requests of these partitions: learn them
                    try {
                        planned.catchUp(statusTimeout());
                    } catch (TimeoutException e) {
                        LOG.warn("status topic not read to its end after a rebalance: {}", e.getMessage());
                    }
                }
            });
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(
                        Duration.ofMillis(config.getLong(ExportProducerConfig.POLL_TIMEOUT_MS)))) {
                    if (!running) {
                        break;
                    }
                    if (!handle(record)) {
                        break; // re-sought: poll again from the failed record
                    }
                }
            }
        } catch (WakeupException e) {
            // close()
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            LOG.error("export producer {} was fenced: another instance uses transactional.id {}; this one stops."
                    + " Give every producer its own producer.id.", config.producerId(), config.transactionalId());
        } catch (RuntimeException | Error e) {
            LOG.error("export producer stopped on an unexpected error; its uncommitted request will be planned"
                    + " by the next producer", e);
        } finally {
            running = false;
            closeClients();
        }
    }

    /** Handles one request; false when its transaction failed and the record was re-sought. */
    private boolean handle(ConsumerRecord<String, byte[]> record) {
        ExportRequest request;
        ExportType type;
        try {
            request = Json.fromBytes(record.value(), ExportRequest.class);
            request.checkVersion();
            if (request.requestId() == null || request.requestId().isBlank()) {
                throw new IllegalArgumentException("request_id is missing");
            }
            if (request.realm() == null) {
                throw new IllegalArgumentException("realm is missing (an id or a string_id; \"\" is the root-domain realm)");
            }
            type = ExportType.parse(request.type());
        } catch (Exception e) {
            LOG.warn("malformed request at {}-{}@{} sent to the dead-letter topic: {}", record.topic(),
                    record.partition(), record.offset(), e.getMessage());
            DeadLetter dl = new DeadLetter(Versioned.CURRENT, record.topic(), record.partition(), record.offset(),
                    String.valueOf(e.getMessage()), record.key(),
                    record.value() == null ? null : Base64.getEncoder().encodeToString(record.value()),
                    SERVICE, System.currentTimeMillis());
            return commit(record, List.of(new ProducerRecord<>(topics.deadLetters(), record.key(), Json.toBytes(dl))), null);
        }
        String exportId = ExportId.forRequest(request.requestId());
        if (planned.contains(exportId)) {
            LOG.info("export {} (request {}) is already planned: duplicate request ignored", exportId, request.requestId());
            return commit(record, List.of(), null);
        }
        long started = System.nanoTime();
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        ExportStatus status;
        try {
            status = plan(request, type, exportId, out);
        } catch (Exception e) {
            out.clear();
            status = status(request, exportId, null, type, ExportState.FAILED, 0, 0, 0, null,
                    "planning failed: " + e.getClass().getSimpleName() + ": " + Database.redact(String.valueOf(e.getMessage())));
            LOG.error("export {} FAILED while planning (request {}, realm '{}'): {}. Check the database, then"
                    + " post a new request.", exportId, request.requestId(), request.realm(), status.error(), e);
        }
        out.add(new ProducerRecord<>(topics.status(), exportId, Json.toBytes(status)));
        if (!commit(record, out, exportId)) {
            return false;
        }
        if (status.state() == ExportState.PLANNED) {
            LOG.info("export {} planned: realm {} ('{}'), type {}, {} shards + 1 config task, {} messages,"
                    + " watermark {}, {} ms", exportId, status.realmId(), request.realm(), type.cliName(),
                    status.tasksPlanned() - 1, status.messages(), status.watermark(),
                    (System.nanoTime() - started) / 1_000_000);
        } else {
            LOG.warn("export {} FAILED (request {}): {}", exportId, request.requestId(), status.error());
        }
        return true;
    }

    /** Fills {@code out} with the tasks and returns the status (PLANNED, or FAILED with the reason). */
    private ExportStatus plan(ExportRequest request, ExportType type, String exportId,
                              List<ProducerRecord<String, byte[]>> out) throws Exception {
        Optional<ExportPlanner.Realm> realm = planner.findRealm(request.realm());
        if (realm.isEmpty()) {
            return status(request, exportId, null, type, ExportState.FAILED, 0, 0, 0, null,
                    "unknown realm '" + request.realm() + "': no zerver_realm with that id or string_id");
        }
        long realmId = realm.get().id();
        Optional<String> unusable = planner.unusableReason(realmId, type);
        if (unusable.isPresent()) {
            return status(request, exportId, realmId, type, ExportState.FAILED, 0, 0, 0, null,
                    "export type '" + type.cliName() + "' refused: " + unusable.get());
        }
        URI output;
        try {
            URI root = request.output() == null || request.output().toString().isBlank()
                    ? ExportStores.location(config.getString(ExportProducerConfig.OUTPUT_DIR))
                    : ExportStores.location(request.output().toString());
            output = ExportStores.exportDirectory(root, exportId);
        } catch (IllegalArgumentException e) { // InvalidPathException too
            return status(request, exportId, realmId, type, ExportState.FAILED, 0, 0, 0, null,
                    "unusable output '" + request.output() + "': " + e.getMessage());
        }
        List<String> unknown = planner.unknownTables();
        List<String> notSkipped = unknown.stream().filter(t -> !skippedTables.contains(t)).toList();
        if (!notSkipped.isEmpty()) {
            return status(request, exportId, realmId, type, ExportState.FAILED, 0, 0, 0, null,
                    ZulipTables.unknownTablesError(notSkipped));
        }
        if (!unknown.isEmpty()) {
            LOG.warn("export {}: exporting without tables this version does not know, as tables.skip says: {}",
                    exportId, unknown);
        }
        ExportPlanner.Plan plan = planner.plan(realmId, type);
        int tasksPlanned = plan.shards() + 1;
        ExportTask config = new ExportTask(Versioned.CURRENT, exportId, ExportTask.Kind.REALM_CONFIG, realmId,
                type.cliName(), output, plan.watermark(), 0, 0, 0, 0, tasksPlanned);
        out.add(new ProducerRecord<>(topics.configTasks(), config.key(), Json.toBytes(config)));
        for (int k = 0; k < plan.shards(); k++) {
            ExportTask shard = new ExportTask(Versioned.CURRENT, exportId, ExportTask.Kind.MESSAGES, realmId,
                    type.cliName(), output, plan.watermark(), k + 1, plan.firstIds()[k], plan.lastIds()[k],
                    plan.counts()[k], tasksPlanned);
            out.add(new ProducerRecord<>(topics.shardTasks(), shard.key(), Json.toBytes(shard)));
        }
        return status(request, exportId, realmId, type, ExportState.PLANNED, tasksPlanned, plan.watermark(),
                plan.messages(), output, null).withSkippedTables(unknown);
    }

    private ExportStatus status(ExportRequest r, String exportId, Long realmId, ExportType type, ExportState state,
                                int tasksPlanned, long watermark, long messages, URI output, String error) {
        return new ExportStatus(Versioned.CURRENT, exportId, r.requestId(), realmId, r.realm(), type.cliName(), state,
                tasksPlanned, 0, watermark, messages, output, null, null, null, null, error, r.realmExportId(),
                System.currentTimeMillis());
    }

    /** Sends {@code out} and commits the request's offset in one transaction. */
    private boolean commit(ConsumerRecord<String, byte[]> record, List<ProducerRecord<String, byte[]>> out, String exportId) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        try {
            producer.beginTransaction();
            for (ProducerRecord<String, byte[]> r : out) {
                producer.send(r);
            }
            producer.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(record.offset() + 1)),
                    consumer.groupMetadata());
            producer.commitTransaction();
            if (exportId != null) {
                planned.add(exportId);
            }
            return true;
        } catch (ProducerFencedException | InvalidProducerEpochException | OutOfOrderSequenceException
                 | AuthorizationException e) {
            throw e;
        } catch (KafkaException e) {
            try {
                producer.abortTransaction();
            } catch (KafkaException ignored) {
                // not committed either way
            }
            LOG.warn("request at {}@{} not committed ({}); it will be handled again", tp, record.offset(), e.toString());
            if (consumer.assignment().contains(tp)) {
                consumer.seek(tp, record.offset());
            }
            return false;
        }
    }

    private void closeClients() {
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("closing producer", e);
            }
        }
        if (consumer != null) {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("closing consumer", e);
            }
        }
        if (planned != null) {
            planned.close();
        }
        if (database != null) {
            database.close();
        }
    }
}
