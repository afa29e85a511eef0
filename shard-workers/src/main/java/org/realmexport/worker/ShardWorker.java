package org.realmexport.worker;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
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
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A shard worker: one member of the consumer group {@code <prefix>-shard-workers}, reading the
 * config-task and shard-task topics ({@code read_committed}: a half-planned export is invisible),
 * writing each task's files into the export directory, and then, in ONE Kafka transaction,
 * posting the {@link TaskResult} and committing the task's offset. A worker that dies before that
 * commit leaves the task to another worker, which rewrites byte-identical files.
 *
 * <p>A task that fails (an anomaly in the data, an SQL error) posts a result with {@code error}
 * set, which fails the export; the worker goes on with the next task. Many workers may run in one
 * JVM: each has its own thread, clients and connection pool.
 *
 * <pre>{@code
 * try (ShardWorker worker = new ShardWorker(Map.of("bootstrap.servers", kafka, "jdbc.url", url)).start()) {
 *     ...
 * }
 * }</pre>
 */
public final class ShardWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ShardWorker.class);
    private static final String SERVICE = "shard-worker";

    private final ShardWorkerConfig config;
    private final Topics topics;
    private final String workerId;
    private final AtomicLong tasksDone = new AtomicLong();
    private volatile boolean running;
    private volatile Thread thread;
    private volatile Consumer<ExportTask> beforeCommit = t -> { };
    private Database database;
    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private SchemaCatalog catalog;
    private RealmConfigWriter configWriter;
    private MessageShardWriter shardWriter;
    private ExportStores stores;
    /** Materialized scopes of the last few exports, by export id; used by the worker thread only. */
    private final Map<String, RealmScope> shardScopes = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, RealmScope> eldest) {
            return size() > 4;
        }
    };

    public ShardWorker(Map<String, ?> config) {
        this.config = new ShardWorkerConfig(config);
        this.topics = this.config.topics();
        this.workerId = this.config.workerId();
    }

    /**
     * Creates missing topics, connects to PostgreSQL and Kafka, and starts consuming on a thread
     * of its own. Fails fast (with the reason) when the database or Kafka cannot be reached.
     */
    public synchronized ShardWorker start() {
        if (thread != null) {
            throw new IllegalStateException("worker " + workerId + " already started");
        }
        try (Admin admin = Admin.create(config.kafkaProperties())) {
            topics.ensureCreated(admin, config.getInt(ShardWorkerConfig.TASK_PARTITIONS),
                    config.getShort(ShardWorkerConfig.REPLICATION_FACTOR));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
        database = Database.open(config, config.getInt(ShardWorkerConfig.DB_POOL_SIZE), SERVICE + "-" + workerId);
        try {
            catalog = database.catalog();
            String migrationStatus = config.getString(ShardWorkerConfig.MIGRATION_STATUS_FILE);
            configWriter = new RealmConfigWriter(catalog, config.getString(ShardWorkerConfig.ZULIP_VERSION),
                    migrationStatus == null || migrationStatus.isBlank() ? null : Path.of(migrationStatus));
            shardWriter = new MessageShardWriter(catalog);
            stores = new ExportStores(config);
            producer = new KafkaProducer<>(producerProperties(), new StringSerializer(), new ByteArraySerializer());
            producer.initTransactions();
            consumer = new KafkaConsumer<>(consumerProperties(), new StringDeserializer(), new ByteArrayDeserializer());
        } catch (Exception e) {
            closeQuietly(true);
            throw new IllegalStateException("shard worker " + workerId + " cannot start: " + e.getMessage(), e);
        }
        running = true;
        thread = new Thread(this::run, "shard-worker-" + workerId);
        thread.start();
        LOG.info("shard worker {} started (group {}, database {}, schema {})", workerId,
                topics.group("shard-workers"), database.describe(), catalog.schema());
        return this;
    }

    public String workerId() {
        return workerId;
    }

    /** Tasks this worker has committed a result for. */
    public long tasksDone() {
        return tasksDone.get();
    }

    public boolean isRunning() {
        Thread t = thread;
        return running && t != null && t.isAlive();
    }

    /**
     * Stops promptly: the task in flight is abandoned uncommitted if it does not finish within
     * {@code close.timeout.ms} (another worker redoes it), then clients and pool are closed.
     */
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
                t.join(config.getLong(ShardWorkerConfig.CLOSE_TIMEOUT_MS) + 3_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("shard worker {} did not stop in time; its task in flight stays uncommitted", workerId);
            }
        } else if (t == null) {
            closeQuietly(false);
        }
    }

    /**
     * Fault injection, for tests and drills: runs inside the task's transaction, after its result
     * is sent and before the commit. A hook that throws {@link SimulatedCrash} makes the worker die
     * as if killed there: the transaction is never committed and another worker redoes the task.
     */
    public void beforeCommit(Consumer<ExportTask> hook) {
        this.beforeCommit = hook;
    }

    /** Thrown by a test hook to make the worker die as if killed: nothing more is committed. */
    public static final class SimulatedCrash extends RuntimeException {
        public SimulatedCrash() {
            super("simulated crash", null, false, false);
        }
    }

    private void run() {
        boolean crashed = false;
        try {
            consumer.subscribe(List.of(topics.configTasks(), topics.shardTasks()), new RebalanceLogger());
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(
                        Duration.ofMillis(config.getLong(ShardWorkerConfig.POLL_TIMEOUT_MS)));
                Set<TopicPartition> retry = new HashSet<>();
                for (ConsumerRecord<String, byte[]> record : records) {
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    if (!running || retry.contains(tp)) {
                        continue;
                    }
                    if (!handle(record)) {
                        retry.add(tp);
                    }
                }
            }
        } catch (WakeupException e) {
            // close(): fall through to the clean-up
        } catch (SimulatedCrash e) {
            crashed = true;
            LOG.warn("shard worker {} crashed (simulated): its task in flight stays uncommitted", workerId);
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            LOG.error("shard worker {} was fenced: another worker uses transactional.id {}; this one stops. "
                    + "Give every worker its own worker.id.", workerId, config.transactionalId());
        } catch (RuntimeException | Error e) {
            LOG.error("shard worker {} stopped on an unexpected error; its uncommitted task will be redone by"
                    + " another worker", workerId, e);
        } finally {
            running = false;
            closeQuietly(crashed);
        }
    }

    /**
     * Runs one task and commits its result with its offset. Returns false when the commit failed
     * and the record must be read again (the partition was re-sought, or is no longer ours).
     */
    private boolean handle(ConsumerRecord<String, byte[]> record) {
        ExportTask task;
        try {
            task = Json.fromBytes(record.value(), ExportTask.class);
            task.checkVersion();
            if (task.exportId() == null || task.kind() == null || task.output() == null || task.type() == null) {
                throw new IllegalArgumentException("task lacks export_id, kind, type or output");
            }
        } catch (Exception e) {
            LOG.warn("unreadable task at {}-{}@{} sent to the dead-letter topic: {}", record.topic(),
                    record.partition(), record.offset(), e.getMessage());
            DeadLetter dl = new DeadLetter(Versioned.CURRENT, record.topic(), record.partition(), record.offset(),
                    String.valueOf(e.getMessage()), record.key(),
                    record.value() == null ? null : Base64.getEncoder().encodeToString(record.value()),
                    SERVICE, System.currentTimeMillis());
            return commit(record, new ProducerRecord<>(topics.deadLetters(), record.key(), Json.toBytes(dl)), null);
        }
        long started = System.nanoTime();
        TaskResult result;
        try {
            result = execute(task);
        } catch (TaskAnomaly e) {
            result = failed(task, e.getMessage());
            LOG.error("export {} {} FAILED: {}. The export is marked failed; fix the data or request the"
                    + " export again.", task.exportId(), task.taskId(), e.getMessage());
        } catch (Exception e) {
            if (!running) {
                LOG.info("export {} {} abandoned: the worker is stopping; another worker will redo it",
                        task.exportId(), task.taskId());
                return false;
            }
            result = failed(task, e.getClass().getSimpleName() + ": " + Database.redact(String.valueOf(e.getMessage())));
            LOG.error("export {} {} FAILED on an error: {}. The export is marked failed; check the database"
                    + " and the export directory {}, then request the export again.", task.exportId(),
                    task.taskId(), result.error(), task.output(), e);
        }
        long executed = System.nanoTime();
        boolean committed = commit(record, new ProducerRecord<>(topics.shardResults(), task.exportId(),
                Json.toBytes(result)), task);
        if (committed && !result.failed()) {
            LOG.info("export {} {}: wrote {} rows into {} bytes in {} ms (+{} ms to commit)", task.exportId(),
                    task.taskId(), result.rows(), result.files().values().stream().mapToLong(TaskResult.FileInfo::size).sum(),
                    (executed - started) / 1_000_000, (System.nanoTime() - executed) / 1_000_000);
        }
        return committed;
    }

    private TaskResult execute(ExportTask task) throws Exception {
        try (ExportStore exportDir = stores.open(task.output());
             Connection connection = database.connection()) {
            try {
                if (task.kind() == ExportTask.Kind.REALM_CONFIG) {
                    RealmScope scope = RealmScope.resolve(connection, catalog, task.realmId(),
                            ExportType.parse(task.type()), config.getString(ShardWorkerConfig.SYSTEM_BOT_REALM));
                    RealmConfigWriter.Outcome o = configWriter.write(connection, scope, task, exportDir, () -> !running);
                    return new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                            o.files(), o.rows(), Map.of(), o.scheduledAttachments(), o.clients(), null, null, null, null,
                            workerId);
                }
                MessageShardWriter.Outcome o = shardWriter.write(connection, shardScope(connection, task), task,
                        exportDir, () -> !running);
                return new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                        o.files(), o.rows(), o.attachments(), Map.of(), o.clients(), o.messageIds(), o.messageIdSet(),
                        o.references(), null, workerId);
            } finally {
                connection.rollback();
            }
        }
    }

    /**
     * The scope of a message shard, its id sets evaluated once per export by this worker
     * ({@link RealmScope#materialized}) rather than by every shard query.
     */
    private RealmScope shardScope(Connection connection, ExportTask task) throws SQLException {
        RealmScope scope = shardScopes.get(task.exportId());
        if (scope == null) {
            scope = RealmScope.resolve(connection, catalog, task.realmId(), ExportType.parse(task.type()),
                    config.getString(ShardWorkerConfig.SYSTEM_BOT_REALM)).materialized(connection);
            shardScopes.put(task.exportId(), scope);
        }
        return scope;
    }

    private TaskResult failed(ExportTask task, String error) {
        return new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(), Map.of(),
                Map.of(), Map.of(), Map.of(), List.of(), null, null, null, error, workerId);
    }

    /** Posts {@code out} and commits {@code record}'s offset in one transaction. */
    private boolean commit(ConsumerRecord<String, byte[]> record, ProducerRecord<String, byte[]> out, ExportTask task) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        try {
            producer.beginTransaction();
            producer.send(out);
            producer.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(record.offset() + 1)),
                    consumer.groupMetadata());
            if (task != null) {
                beforeCommit.accept(task);
            }
            producer.commitTransaction();
            if (task != null) {
                tasksDone.incrementAndGet();
            }
            return true;
        } catch (ProducerFencedException | InvalidProducerEpochException | OutOfOrderSequenceException
                 | AuthorizationException e) {
            throw e; // fatal for this producer: run() stops the worker
        } catch (KafkaException e) {
            // typically a rebalance took the partition (the commit's generation is stale): the new
            // owner redoes the task; if it is still ours, read it again
            try {
                producer.abortTransaction();
            } catch (KafkaException ignored) {
                // the abort's own failure changes nothing: the transaction is not committed
            }
            LOG.warn("result of {} at {}@{} not committed ({}); the task will be run again", task == null
                    ? "dead letter" : "export " + task.exportId() + " " + task.taskId(), tp, record.offset(), e.toString());
            if (consumer.assignment().contains(tp)) {
                consumer.seek(tp, record.offset());
            }
            return false;
        }
    }

    private Properties producerProperties() {
        Properties p = config.kafkaProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.transactionalId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, SERVICE + "-" + workerId + "-producer");
        return p;
    }

    private Properties consumerProperties() {
        Properties p = config.kafkaProperties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, topics.group("shard-workers"));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.getInt(ShardWorkerConfig.MAX_POLL_RECORDS));
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, config.getInt(ShardWorkerConfig.MAX_POLL_INTERVAL_MS));
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, SERVICE + "-" + workerId);
        return p;
    }

    private void closeQuietly(boolean abruptly) {
        Duration timeout = abruptly ? Duration.ZERO : Duration.ofSeconds(2);
        if (producer != null) {
            try {
                producer.close(timeout);
            } catch (RuntimeException e) {
                LOG.debug("closing producer", e);
            }
        }
        if (consumer != null) {
            try {
                consumer.close(timeout);
            } catch (RuntimeException e) {
                LOG.debug("closing consumer", e);
            }
        }
        if (database != null) {
            database.close();
        }
        if (stores != null) {
            stores.close();
        }
        LOG.info("shard worker {} stopped after {} tasks", workerId, tasksDone.get());
    }

    private final class RebalanceLogger implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // tasks are committed one by one inside poll's thread, so nothing is in flight here
            if (!partitions.isEmpty()) {
                LOG.debug("worker {} gave up {}", workerId, partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                LOG.debug("worker {} now owns {}", workerId, partitions);
            }
        }
    }
}
