package org.realmexport.worker;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RealmScope;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.db.SchemaCatalog;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.storage.upload.UploadSource;
import org.realmexport.common.storage.upload.UploadSources;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.loop.ExactlyOnceLoop;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import io.micrometer.core.instrument.MeterRegistry;
import org.realmexport.common.ExportId;
import org.realmexport.common.metrics.ServiceMetrics;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A shard worker: one member of the consumer group {@code <prefix>-shard-workers}, reading the
 * config-task and shard-task topics ({@code read_committed}: a half-planned export is invisible),
 * writing each task's files into the export directory, and then, in ONE Kafka transaction,
 * posting the {@link TaskResult} and committing the task's offset. A worker that dies before that
 * commit leaves the task to another worker, which rewrites byte-identical files.
 *
 * <p>A task whose database error is transient (the connection lost, the server restarting) is
 * abandoned uncommitted and redone after a backoff, up to {@code db.retry.attempts} times. A task
 * that fails otherwise (an anomaly in the data, an SQL error), or past those attempts, posts a
 * result with {@code error} set, which fails the export; the worker goes on with the next task.
 * The loop itself (transactions, rewinds, dead letters) is {@link ExactlyOnceLoop}.
 * Many workers may run in one JVM: each has its own thread, clients and connection pool.
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
    private volatile Consumer<ExportTask> beforeCommit = t -> { };
    private Database database;
    private SchemaCatalog catalog;
    private RealmConfigWriter configWriter;
    private MessageShardWriter shardWriter;
    private FileCopyWriter copyWriter;
    private UploadSource uploads;
    private UserJsonWriter userWriter;
    private UserMessageShardWriter userShardWriter;
    private ExportStores stores;
    private FileSyncer syncer;
    private volatile ExactlyOnceLoop<ExportTask> loop;
    /** Materialized scopes of the last few exports, by export id; used by the loop's thread only. */
    private final Map<String, RealmScope> shardScopes = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, RealmScope> eldest) {
            return size() > 4;
        }
    };

    private final MeterRegistry registry;
    private ServiceMetrics metrics;

    public ShardWorker(Map<String, ?> config) {
        this(config, null);
    }

    /** {@code registry}: where the meters go; null serves them on {@code metrics.port} (see {@link ServiceMetrics}). */
    public ShardWorker(Map<String, ?> config, MeterRegistry registry) {
        this.config = new ShardWorkerConfig(config);
        this.topics = this.config.topics();
        this.workerId = this.config.workerId();
        this.registry = registry;
    }

    /**
     * Creates missing topics, connects to PostgreSQL and Kafka, and starts consuming on a thread
     * of its own. Fails fast (with the reason) when the database or Kafka cannot be reached.
     */
    public synchronized ShardWorker start() {
        if (loop != null) {
            throw new IllegalStateException("worker " + workerId + " already started");
        }
        config.ensureTopics();
        metrics = ServiceMetrics.open(config, registry, "shard-workers");
        try {
            database = Database.open(config, config.getInt(ShardWorkerConfig.DB_POOL_SIZE), SERVICE + "-" + workerId);
        } catch (RuntimeException e) {
            metrics.close();
            throw e;
        }
        try {
            catalog = database.catalog();
            String migrationStatus = config.getString(ShardWorkerConfig.MIGRATION_STATUS_FILE);
            configWriter = new RealmConfigWriter(catalog, config.getString(ShardWorkerConfig.ZULIP_VERSION),
                    migrationStatus == null || migrationStatus.isBlank() ? null : Path.of(migrationStatus));
            shardWriter = new MessageShardWriter(catalog);
            uploads = UploadSources.open(config);
            copyWriter = new FileCopyWriter(catalog, uploads, config.avatarSalt());
            userWriter = new UserJsonWriter(catalog);
            userShardWriter = new UserMessageShardWriter(catalog);
            stores = new ExportStores(config);
            syncer = new FileSyncer(stores, SERVICE + "-" + workerId + "-sync");
            ExactlyOnceLoop.Settings settings = new ExactlyOnceLoop.Settings("shard worker " + workerId, SERVICE,
                    workerId, topics.group("shard-workers"), config.transactionalId(),
                    List.of(topics.configTasks(), topics.shardTasks()), topics.deadLetters(),
                    config.getInt(ShardWorkerConfig.MAX_POLL_RECORDS),
                    Duration.ofMillis(config.getInt(ShardWorkerConfig.MAX_POLL_INTERVAL_MS)),
                    Duration.ofMillis(config.getLong(ShardWorkerConfig.POLL_TIMEOUT_MS)),
                    Duration.ofMillis(config.getLong(ShardWorkerConfig.CLOSE_TIMEOUT_MS)), RetryPolicy.of(config));
            loop = ExactlyOnceLoop.start(settings, config.kafkaProperties(), new Tasks());
        } catch (Exception e) {
            database.close();
            metrics.close();
            if (syncer != null) {
                syncer.close();
            }
            if (stores != null) {
                stores.close();
            }
            closeUploads();
            throw new IllegalStateException("shard worker " + workerId + " cannot start: " + e.getMessage(), e);
        }
        LOG.info("shard worker {} started (group {}, database {}, schema {})", workerId,
                topics.group("shard-workers"), database.describe(), catalog.schema());
        return this;
    }

    private void closeUploads() {
        try {
            if (uploads != null) {
                uploads.close();
            }
        } catch (java.io.IOException e) {
            LOG.warn("shard worker {}: closing the uploads source: {}", workerId, e.getMessage());
        }
    }

    public String workerId() {
        return workerId;
    }

    /** Tasks this worker has committed a result for. */
    public long tasksDone() {
        return tasksDone.get();
    }

    /** Tasks this worker abandoned on a transient database fault, to be redone after a backoff. */
    public long tasksRedone() {
        ExactlyOnceLoop<ExportTask> l = loop;
        return l == null ? 0 : l.redone();
    }

    public boolean isRunning() {
        ExactlyOnceLoop<ExportTask> l = loop;
        return l != null && l.isRunning();
    }

    /**
     * Stops promptly: the task in flight is abandoned uncommitted if it does not finish within
     * {@code close.timeout.ms} (another worker redoes it), then clients and pool are closed.
     */
    @Override
    public void close() {
        ExactlyOnceLoop<ExportTask> l = loop;
        if (l != null) {
            l.close();
        }
        if (database != null) {
            database.close();
        }
        if (syncer != null) {
            syncer.close();
        }
        if (stores != null) {
            stores.close();
        }
        closeUploads();
        if (metrics != null) {
            metrics.close();
        }
        LOG.info("shard worker {} stopped after {} tasks", workerId, tasksDone.get());
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

    /** The port this service serves /metrics on (metrics.port, 0 picks one), or -1. */
    public int metricsPort() {
        return metrics == null ? -1 : metrics.port();
    }

    private boolean stopping() {
        ExactlyOnceLoop<ExportTask> l = loop;
        return l == null || l.stopping();
    }

    /** A task in, its result out, through the exactly-once loop. */
    private final class Tasks implements ExactlyOnceLoop.Handler<ExportTask> {
        @Override
        public ExportTask read(ConsumerRecord<String, byte[]> record) throws Exception {
            ExportTask task = Json.fromBytes(record.value(), ExportTask.class);
            task.checkVersion();
            if (task.exportId() == null || task.kind() == null || task.output() == null || task.type() == null) {
                throw new IllegalArgumentException("task lacks export_id, kind, type or output");
            }
            if ((task.kind() == ExportTask.Kind.USER || task.kind() == ExportTask.Kind.USER_MESSAGES)
                    && task.userId() == null) {
                throw new IllegalArgumentException("task of a single-user export lacks user_id");
            }
            return task;
        }

        @Override
        public ExactlyOnceLoop.Output process(ExportTask task) throws Exception {
            try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, task.exportId())) {
                return run(task);
            }
        }

        private ExactlyOnceLoop.Output run(ExportTask task) throws Exception {
            long started = System.nanoTime();
            Executed done = execute(task);
            TaskResult result = done.result();
            long executed = System.nanoTime();
            // the loop sends the result once the files it promises are durable
            Future<?> synced = done.unsynced().isEmpty() ? null : syncer.sync(task.exportId(), task.output(),
                    done.unsynced());
            return output(result, synced, () -> {
                tasksDone.incrementAndGet();
                metrics.meters().taskDone(task.kind().name(), true, Duration.ofNanos(System.nanoTime() - started),
                        result.rows().values().stream().mapToLong(Long::longValue).sum(),
                        result.bytesWritten());
                LOG.info("export {} {}: wrote {} rows into {} bytes in {} ms (+{} ms to commit)", task.exportId(),
                        task.taskId(), result.rows(), result.bytesWritten(),
                        (executed - started) / 1_000_000, (System.nanoTime() - executed) / 1_000_000);
            });
        }

        @Override
        public ExactlyOnceLoop.Output failed(ExportTask task, Exception error, int attempts) {
            try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, task.exportId())) {
                return taskFailed(task, error, attempts);
            }
        }

        private ExactlyOnceLoop.Output taskFailed(ExportTask task, Exception error, int attempts) {
            TaskResult result;
            if (error instanceof TaskAnomaly) {
                result = failedResult(task, error.getMessage());
                LOG.error("export {} {} FAILED: {}. The export is marked failed; fix the data or request the"
                        + " export again.", task.exportId(), task.taskId(), error.getMessage());
            } else {
                result = failedResult(task, (attempts > 1 ? "after " + attempts + " attempts: " : "")
                        + error.getClass().getSimpleName() + ": " + Database.redact(String.valueOf(error.getMessage())));
                LOG.error("export {} {} FAILED on an error: {}. The export is marked failed; check the database"
                        + " and the export directory {}, then request the export again.", task.exportId(),
                        task.taskId(), result.error(), task.output(), error);
            }
            return output(result, null, () -> {
                tasksDone.incrementAndGet();
                metrics.meters().taskDone(task.kind().name(), false, Duration.ZERO, 0, 0);
            });
        }

        @Override
        public String describe(ExportTask task) {
            return "export " + task.exportId() + " " + task.taskId();
        }

        @Override
        public void beforeCommit(ExportTask task) {
            beforeCommit.accept(task);
        }

        private ExactlyOnceLoop.Output output(TaskResult result, Future<?> ready, Runnable afterCommit) {
            return new ExactlyOnceLoop.Output(List.of(new ProducerRecord<>(topics.shardResults(), result.exportId(),
                    Json.toBytes(result))), ExportId.inMdc(result.exportId(), afterCommit), ready);
        }
    }

    /** A task's result, and the store paths it published that are not durable yet. */
    private record Executed(TaskResult result, List<String> unsynced) {
        Executed(TaskResult result) {
            this(result, List.of());
        }
    }

    private Executed execute(ExportTask task) throws Exception {
        try (ExportStore exportDir = stores.open(task.output());
             Connection connection = database.connection()) {
            try {
                // a single-user export: its own scope and files
                if (task.kind() == ExportTask.Kind.USER) {
                    UserJsonWriter.Outcome o = userWriter.write(connection, userScope(task), exportDir, this::stopping);
                    return new Executed(new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                            o.files(), o.rows(), Map.of(), Map.of(), List.of(), null, null, null, null, workerId));
                }
                if (task.kind() == ExportTask.Kind.USER_MESSAGES) {
                    MessageShardWriter.Outcome o = userShardWriter.write(connection, userScope(task), task, exportDir,
                            this::stopping);
                    return new Executed(new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                            o.files(), o.rows(), o.attachments(), Map.of(), o.clients(), o.messageIds(),
                            o.messageIdSet(), o.references(), null, workerId));
                }
                if (task.kind() == ExportTask.Kind.REALM_CONFIG) {
                    RealmScope scope = RealmScope.resolve(connection, catalog, task.realmId(),
                            ExportType.parse(task.type()), config.getString(ShardWorkerConfig.SYSTEM_BOT_REALM));
                    RealmConfigWriter.Outcome o = configWriter.write(connection, scope, task, exportDir, this::stopping);
                    return new Executed(new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                            o.files(), o.rows(), Map.of(), o.scheduledAttachments(), o.clients(), null, null, null, null,
                            workerId));
                }
                if (task.kind().isFileCopy()) {
                    FileCopyWriter.Outcome o = task.userId() != null
                            ? copyWriter.write(connection, userScope(task), task, exportDir, this::stopping)
                            : copyWriter.write(connection, shardScope(connection, task), task, exportDir, this::stopping);
                    return new Executed(new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                            o.files(), Map.of(), Map.of(), Map.of(), List.of(), null, null, null, null, workerId,
                            o.bytes()), o.unsynced());
                }
                MessageShardWriter.Outcome o = shardWriter.write(connection, shardScope(connection, task), task,
                        exportDir, this::stopping);
                return new Executed(new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(),
                        o.files(), o.rows(), o.attachments(), Map.of(), o.clients(), o.messageIds(), o.messageIdSet(),
                        o.references(), null, workerId), o.unsynced());
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

    private UserScope userScope(ExportTask task) {
        return UserScope.of(catalog, task.realmId(), task.userId());
    }

    private TaskResult failedResult(ExportTask task, String error) {
        return new TaskResult(Versioned.CURRENT, task.exportId(), task.taskId(), task.tasksPlanned(), Map.of(),
                Map.of(), Map.of(), Map.of(), List.of(), null, null, null, error, workerId);
    }
}
