package org.realmexport.producer;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.realmexport.common.ExportId;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.db.ZulipTables;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.loop.ExactlyOnceLoop;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import io.micrometer.core.instrument.MeterRegistry;
import org.realmexport.common.metrics.ServiceMetrics;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The export producer: consumes {@code <prefix>.requests} (group {@code <prefix>-producer}),
 * validates each request, plans the export ({@link ExportPlanner}) and posts, in ONE Kafka
 * transaction together with the request's offset: the REALM_CONFIG task, one MESSAGES task per
 * shard, and the PLANNED {@link ExportStatus}. Consumers reading {@code read_committed} never see
 * half a plan.
 *
 * <p>Contract for the assembler: the PLANNED status carries {@code tasks_planned} (shards + 1 + file copy batches),
 * the watermark and the message count; it is the authority on how many results to wait for.
 * Tasks carry the same {@code tasks_planned} (the plan is complete before anything is sent).
 *
 * <p>A request with a {@code user} is a single-user export ({@link org.realmexport.common.db.UserScope}):
 * one USER task (user.json) and one USER_MESSAGES task per 1000 of the user's messages, on the
 * same topics, under the same transaction.
 *
 * <p>Outcomes per request: malformed (bad JSON, missing request_id / realm / type, unknown type,
 * newer {@code v}) goes to the dead-letter topic with the original bytes; an unknown realm or user, an
 * export type that would leave no usable owner or an unusable output gives a FAILED status with the reason; a request
 * id whose export already has a status is skipped (idempotent). A transient database fault while
 * planning is retried ({@code db.retry.attempts}); the loop itself is {@link ExactlyOnceLoop}.
 */
public final class ExportProducer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExportProducer.class);
    private static final String SERVICE = "producer";

    private final ExportProducerConfig config;
    private final Topics topics;
    /** tables.skip: unknown tables the operator lets an export go without. */
    private final Set<String> skippedTables;
    private Database database;
    private ExportPlanner planner;
    private PlannedExports planned;
    /** Of the shard-task topic when this producer started (partitions are only ever added; new ones go unused until a restart). */
    private int shardTaskPartitions;
    private volatile ExactlyOnceLoop<Request> loop;
    private final MeterRegistry registry;
    private ServiceMetrics metrics;

    public ExportProducer(Map<String, ?> config) {
        this(config, null);
    }

    /** {@code registry}: where the meters go; null serves them on {@code metrics.port} (see {@link ServiceMetrics}). */
    public ExportProducer(Map<String, ?> config, MeterRegistry registry) {
        this.registry = registry;
        this.config = new ExportProducerConfig(config);
        this.topics = this.config.topics();
        this.skippedTables = Set.copyOf(this.config.getList(ExportProducerConfig.TABLES_SKIP));
    }

    /** Creates missing topics, reads the status topic, connects, and starts consuming requests. */
    public synchronized ExportProducer start() {
        if (loop != null) {
            throw new IllegalStateException("producer already started");
        }
        shardTaskPartitions = config.ensureTopics().get(topics.shardTasks());
        try {
            metrics = ServiceMetrics.open(config, registry, SERVICE);
            database = Database.open(config, 2, SERVICE + "-" + config.producerId());
            planner = new ExportPlanner(database, config.getString(ExportProducerConfig.SYSTEM_BOT_REALM));
            planned = new PlannedExports(config.kafkaProperties(), topics.status());
            planned.catchUp(statusTimeout());
            // one request per transaction: a duplicate in the same batch must see the first one planned
            ExactlyOnceLoop.Settings settings = new ExactlyOnceLoop.Settings("export producer " + config.producerId(),
                    SERVICE, config.producerId(), topics.group(SERVICE), config.transactionalId(),
                    List.of(topics.requests()), topics.deadLetters(), 1, Duration.ofMinutes(5),
                    Duration.ofMillis(config.getLong(ExportProducerConfig.POLL_TIMEOUT_MS)), Duration.ofSeconds(7),
                    RetryPolicy.of(config));
            loop = ExactlyOnceLoop.start(settings, config.kafkaProperties(), new Requests());
        } catch (Exception e) {
            closeResources();
            throw new IllegalStateException("export producer cannot start: " + Database.redact(e.getMessage()), e);
        }
        LOG.info("export producer {} started: {} exports already known, database {}, {} shard-task partitions",
                config.producerId(), planned.size(), database.describe(), shardTaskPartitions);
        return this;
    }

    public boolean isRunning() {
        ExactlyOnceLoop<Request> l = loop;
        return l != null && l.isRunning();
    }

    @Override
    public void close() {
        ExactlyOnceLoop<Request> l = loop;
        if (l != null) {
            l.close();
        }
        closeResources();
    }

    private Duration statusTimeout() {
        return Duration.ofMillis(config.getLong(ExportProducerConfig.STATUS_READ_TIMEOUT_MS));
    }

    /** A readable request, with its parsed type (null for a single-user export) and its export id. */
    private record Request(ExportRequest request, ExportType type, String exportId) {
        /** The type as tasks and statuses name it. */
        String typeName() {
            return type == null ? UserScope.TYPE : type.cliName();
        }
    }

    /** A request in; its tasks and PLANNED status, or its FAILED status, out. */
    private final class Requests implements ExactlyOnceLoop.Handler<Request> {
        @Override
        public Request read(ConsumerRecord<String, byte[]> record) throws Exception {
            ExportRequest request = Json.fromBytes(record.value(), ExportRequest.class);
            request.checkVersion();
            if (request.requestId() == null || request.requestId().isBlank()) {
                throw new IllegalArgumentException("request_id is missing");
            }
            if (request.realm() == null) {
                throw new IllegalArgumentException("realm is missing (an id or a string_id; \"\" is the root-domain realm)");
            }
            if (request.userExport()) {
                if (request.user().isBlank()) {
                    throw new IllegalArgumentException("user is blank (a user id or email, for a single-user export)");
                }
                return new Request(request, null, ExportId.forRequest(request.requestId()));
            }
            return new Request(request, ExportType.parse(request.type()), ExportId.forRequest(request.requestId()));
        }

        @Override
        public ExactlyOnceLoop.Output process(Request r) throws Exception {
            try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, r.exportId())) {
                return planRequest(r);
            }
        }

        private ExactlyOnceLoop.Output planRequest(Request r) throws Exception {
            if (planned.contains(r.exportId())) {
                LOG.info("export {} (request {}) is already planned: duplicate request ignored", r.exportId(),
                        r.request().requestId());
                return ExactlyOnceLoop.Output.of(List.of());
            }
            long started = System.nanoTime();
            List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
            ExportStatus status = r.request().userExport() ? planUser(r.request(), r.exportId(), out)
                    : plan(r.request(), r.type(), r.exportId(), out);
            out.add(new ProducerRecord<>(topics.status(), r.exportId(), Json.toBytes(status)));
            return new ExactlyOnceLoop.Output(out, ExportId.inMdc(r.exportId(), () -> {
                planned.add(r.exportId());
                metrics.meters().exportState(status.state());
                if (status.state() == ExportState.PLANNED) {
                    LOG.info("export {} planned: realm {} ('{}'), type {}, {} tasks (1 config task, the message shards"
                            + " and, for a realm, the file copy batches), {} messages, watermark {}, {} ms", r.exportId(),
                            status.realmId(), r.request().realm(),
                            r.typeName() + (status.userId() == null ? "" : " of user " + status.userId()),
                            status.tasksPlanned(), status.messages(), status.watermark(),
                            (System.nanoTime() - started) / 1_000_000);
                } else {
                    LOG.warn("export {} FAILED (request {}): {}", r.exportId(), r.request().requestId(), status.error());
                }
            }));
        }

        @Override
        public ExactlyOnceLoop.Output failed(Request r, Exception error, int attempts) {
            try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, r.exportId())) {
                return planningFailed(r, error, attempts);
            }
        }

        private ExactlyOnceLoop.Output planningFailed(Request r, Exception error, int attempts) {
            ExportStatus status = status(r.request(), r.exportId(), null, r.typeName(), ExportState.FAILED, 0, 0, 0, null,
                    "planning failed" + (attempts > 1 ? " after " + attempts + " attempts" : "") + ": "
                            + error.getClass().getSimpleName() + ": " + Database.redact(String.valueOf(error.getMessage())));
            LOG.error("export {} FAILED while planning (request {}, realm '{}'): {}. Check the database, then"
                    + " post a new request.", r.exportId(), r.request().requestId(), r.request().realm(),
                    status.error(), error);
            return new ExactlyOnceLoop.Output(List.of(new ProducerRecord<>(topics.status(), r.exportId(),
                    Json.toBytes(status))), () -> {
                        planned.add(r.exportId());
                        metrics.meters().exportState(ExportState.FAILED);
                    });
        }

        @Override
        public String describe(Request r) {
            return "export " + r.exportId() + " (request " + r.request().requestId() + ")";
        }

        @Override
        public void assigned(Collection<TopicPartition> partitions) {
            // another instance may have planned requests of these partitions: learn them
            try {
                planned.catchUp(statusTimeout());
            } catch (TimeoutException e) {
                LOG.warn("status topic not read to its end after a rebalance: {}", e.getMessage());
            }
        }
    }

    /** Fills {@code out} with the tasks and returns the status (PLANNED, or FAILED with the reason). */
    private ExportStatus plan(ExportRequest request, ExportType type, String exportId,
                              List<ProducerRecord<String, byte[]>> out) throws Exception {
        Optional<ExportPlanner.Realm> realm = planner.findRealm(request.realm());
        if (realm.isEmpty()) {
            return status(request, exportId, null, type.cliName(), ExportState.FAILED, 0, 0, 0, null,
                    "unknown realm '" + request.realm() + "': no zerver_realm with that id or string_id");
        }
        long realmId = realm.get().id();
        Optional<String> unusable = planner.unusableReason(realmId, type);
        if (unusable.isPresent()) {
            return status(request, exportId, realmId, type.cliName(), ExportState.FAILED, 0, 0, 0, null,
                    "export type '" + type.cliName() + "' refused: " + unusable.get());
        }
        URI output;
        try {
            output = exportDirectory(request, exportId);
        } catch (IllegalArgumentException e) { // InvalidPathException too
            return status(request, exportId, realmId, type.cliName(), ExportState.FAILED, 0, 0, 0, null,
                    "unusable output '" + request.output() + "': " + e.getMessage());
        }
        List<String> unknown = planner.unknownTables();
        List<String> notSkipped = unknown.stream().filter(t -> !skippedTables.contains(t)).toList();
        if (!notSkipped.isEmpty()) {
            return status(request, exportId, realmId, type.cliName(), ExportState.FAILED, 0, 0, 0, null,
                    ZulipTables.unknownTablesError(notSkipped));
        }
        if (!unknown.isEmpty()) {
            LOG.warn("export {}: exporting without tables this version does not know, as tables.skip says: {}",
                    exportId, unknown);
        }
        ExportPlanner.Plan plan = planner.plan(realmId, type);
        List<FileCopyPlanner.Batch> copies = planner.fileCopies(realmId);
        int tasksPlanned = plan.shards() + 1 + copies.size();
        ExportTask config = new ExportTask(Versioned.CURRENT, exportId, ExportTask.Kind.REALM_CONFIG, realmId,
                type.cliName(), output, plan.watermark(), 0, 0, 0, 0, tasksPlanned);
        out.add(new ProducerRecord<>(topics.configTasks(), config.key(), Json.toBytes(config)));
        out.addAll(shardTopicTasks(plan, ExportTask.Kind.MESSAGES, copies, (kind, number, firstId, lastId, count) ->
                new ExportTask(Versioned.CURRENT, exportId, kind, realmId, type.cliName(), output, plan.watermark(),
                        number, firstId, lastId, count, tasksPlanned)));
        return status(request, exportId, realmId, type.cliName(), ExportState.PLANNED, tasksPlanned, plan.watermark(),
                plan.messages(), output, null).withSkippedTables(unknown);
    }

    /** Makes one task of the export being planned: its kind, number and planned id range and row count. */
    private interface TaskMaker {
        ExportTask make(ExportTask.Kind kind, int number, long firstId, long lastId, int count);
    }

    /**
     * The shard-topic records of a plan: a task of {@code shardKind} per shard and one per copy
     * batch, spread over the topic's partitions by cost ({@link TaskSpreader}).
     */
    private List<ProducerRecord<String, byte[]>> shardTopicTasks(ExportPlanner.Plan plan, ExportTask.Kind shardKind,
                                                                 List<FileCopyPlanner.Batch> copies, TaskMaker tasks) {
        List<TaskSpreader.Costed> costed = new ArrayList<>(plan.shards() + copies.size());
        for (int k = 0; k < plan.shards(); k++) {
            costed.add(TaskSpreader.Costed.shard(tasks.make(shardKind, k + 1, plan.firstIds()[k], plan.lastIds()[k],
                    plan.counts()[k])));
        }
        for (FileCopyPlanner.Batch b : copies) {
            costed.add(TaskSpreader.Costed.copy(tasks.make(b.kind(), b.number(), b.firstId(), b.lastId(), b.rows()),
                    b.bytes()));
        }
        return TaskSpreader.records(topics.shardTasks(), shardTaskPartitions, costed);
    }

    /** The export's directory: under the request's output, else the producer's output.dir. */
    private URI exportDirectory(ExportRequest request, String exportId) {
        URI root = request.output() == null || request.output().toString().isBlank()
                ? ExportStores.location(config.getString(ExportProducerConfig.OUTPUT_DIR))
                : ExportStores.location(request.output().toString());
        return ExportStores.exportDirectory(root, exportId);
    }

    /**
     * Plans a single-user export (Zulip's export_single_user): the USER task (user.json), one
     * USER_MESSAGES task per 1000 of the user's messages ({@link UserScope}) and the batches
     * copying the user's files ({@link FileCopyPlanner#planUser}); FAILED when the realm or the
     * user is unknown.
     */
    private ExportStatus planUser(ExportRequest request, String exportId, List<ProducerRecord<String, byte[]>> out)
            throws Exception {
        Optional<ExportPlanner.Realm> realm = planner.findRealm(request.realm());
        if (realm.isEmpty()) {
            return status(request, exportId, null, UserScope.TYPE, ExportState.FAILED, 0, 0, 0, null,
                    "unknown realm '" + request.realm() + "': no zerver_realm with that id or string_id");
        }
        long realmId = realm.get().id();
        Optional<Long> user = planner.findUser(realmId, request.user());
        if (user.isEmpty()) {
            return status(request, exportId, realmId, UserScope.TYPE, ExportState.FAILED, 0, 0, 0, null,
                    "unknown user '" + request.user() + "' in realm '" + request.realm() + "': no zerver_userprofile"
                            + " of realm " + realmId + " with that id or email");
        }
        long userId = user.get();
        URI output;
        try {
            output = exportDirectory(request, exportId);
        } catch (IllegalArgumentException e) { // InvalidPathException too
            return status(request, exportId, realmId, UserScope.TYPE, ExportState.FAILED, 0, 0, 0, null,
                    "unusable output '" + request.output() + "': " + e.getMessage()).withUser(userId);
        }
        ExportPlanner.Plan plan = planner.planUser(realmId, userId);
        List<FileCopyPlanner.Batch> copies = planner.userFileCopies(realmId, userId);
        int tasksPlanned = plan.shards() + 1 + copies.size();
        ExportTask main = new ExportTask(Versioned.CURRENT, exportId, ExportTask.Kind.USER, realmId, UserScope.TYPE,
                output, plan.watermark(), 0, 0, 0, 0, tasksPlanned, userId);
        out.add(new ProducerRecord<>(topics.configTasks(), main.key(), Json.toBytes(main)));
        out.addAll(shardTopicTasks(plan, ExportTask.Kind.USER_MESSAGES, copies,
                (kind, number, firstId, lastId, count) -> new ExportTask(Versioned.CURRENT, exportId, kind, realmId,
                        UserScope.TYPE, output, plan.watermark(), number, firstId, lastId, count, tasksPlanned,
                        userId)));
        return status(request, exportId, realmId, UserScope.TYPE, ExportState.PLANNED, tasksPlanned, plan.watermark(),
                plan.messages(), output, null).withUser(userId);
    }

    private ExportStatus status(ExportRequest r, String exportId, Long realmId, String type, ExportState state,
                                int tasksPlanned, long watermark, long messages, URI output, String error) {
        return new ExportStatus(Versioned.CURRENT, exportId, r.requestId(), realmId, r.realm(), type, state,
                tasksPlanned, 0, watermark, messages, output, null, null, null, null, error, r.realmExportId(),
                System.currentTimeMillis());
    }

    /** The port this service serves /metrics on (metrics.port, 0 picks one), or -1. */
    public int metricsPort() {
        return metrics == null ? -1 : metrics.port();
    }

    private void closeResources() {
        if (planned != null) {
            planned.close();
        }
        if (database != null) {
            database.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }
}
