package org.realmexport.assembler;

import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.realmexport.assembler.ExportProgress.Phase;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.realmexport.common.ExportId;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Counts each task of an export once and decides: complete (ASSEMBLING) or failed (FAILED).
 * Runs on the stream thread, so it only decides; the long I/O of finalizing runs in the
 * {@link FinalizerService}.
 *
 * <p>Finalizing starts when the assembler's own ASSEMBLING status comes back from the status
 * topic, not when it is decided: the stream reads with read_committed, so by then the decision is
 * committed, and the finalizer's SUCCEEDED/FAILED (sent by another producer) can only land after
 * it in the status partition, never before. The FINALIZING phase is in the store (changelogged
 * in the same transaction as the consumed offset), so a restarted or newly assigned task hands
 * every export still in that phase to the finalizer again; finalizing is idempotent.
 */
final class ProgressProcessor implements Processor<String, AssemblerEvent, String, ExportStatus> {
    static final String EXPORTS_STORE = "assembler-exports";
    static final String RESULTS_STORE = "assembler-task-results";
    private static final Logger LOG = LoggerFactory.getLogger(ProgressProcessor.class);
    private static final Duration CLEANUP_INTERVAL = Duration.ofMinutes(10);
    /** Exports removed per clean-up sweep, so that one sweep never stalls the stream thread. */
    private static final int CLEANUP_BATCH = 200;

    private final FinalizerService finalizers;
    private final AssemblerMetrics metrics;
    private final long progressIntervalMs;
    private final long retentionMs;

    private ProcessorContext<String, ExportStatus> context;
    private KeyValueStore<String, ExportProgress> exports;
    private KeyValueStore<String, byte[]> results;
    private int partition;
    /** Exports whose RUNNING status was held back by the throttle (in memory: losing it costs one update). */
    private final Set<String> unreported = new LinkedHashSet<>();

    ProgressProcessor(FinalizerService finalizers, AssemblerMetrics metrics, long progressIntervalMs, long retentionMs) {
        this.finalizers = finalizers;
        this.metrics = metrics;
        this.progressIntervalMs = progressIntervalMs;
        this.retentionMs = retentionMs;
    }

    /** Key of a task's result: {@code exportId/taskId}, so that one export is one prefix. */
    static String resultKey(String exportId, String taskId) {
        return exportId + "/" + taskId;
    }

    static String resultPrefix(String exportId) {
        return exportId + "/";
    }

    @Override
    public void init(ProcessorContext<String, ExportStatus> ctx) {
        this.context = ctx;
        this.exports = ctx.getStateStore(EXPORTS_STORE);
        this.results = ctx.getStateStore(RESULTS_STORE);
        this.partition = ctx.taskId().partition();
        // Recovery: exports handed to a finalizer that never reported back (crash, shutdown,
        // rebalance) are handed again. The store is restored before init() is called.
        List<ExportStatus> resume = new ArrayList<>();
        try (KeyValueIterator<String, ExportProgress> it = exports.all()) {
            while (it.hasNext()) {
                ExportProgress p = it.next().value;
                if (p.phase() == Phase.FINALIZING && p.planned() != null) {
                    resume.add(p.status(ExportState.ASSEMBLING, null));
                }
            }
        }
        for (ExportStatus status : resume) {
            LOG.info("export {}: resuming its finalizing (task {} assigned to this instance)",
                    status.exportId(), ctx.taskId());
            finalizers.submit(status, partition);
        }
        if (progressIntervalMs > 0) {
            ctx.schedule(Duration.ofMillis(progressIntervalMs), PunctuationType.WALL_CLOCK_TIME, this::reportHeldBack);
        }
        ctx.schedule(CLEANUP_INTERVAL, PunctuationType.WALL_CLOCK_TIME, this::cleanUp);
    }

    @Override
    public void process(Record<String, AssemblerEvent> record) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, record.key())) {
            processEvent(record);
        }
    }

    private void processEvent(Record<String, AssemblerEvent> record) {
        AssemblerEvent event = record.value();
        String exportId = record.key();
        long now = context.currentSystemTimeMs();
        ExportProgress before = exports.get(exportId);
        ExportProgress progress = before != null ? before : ExportProgress.first(now);
        if (event.result() != null) {
            progress = onResult(exportId, progress, event.result());
        } else {
            progress = onStatus(exportId, progress, event.status(), now);
        }
        if (progress == null) {
            return; // nothing changed
        }
        progress = decide(exportId, progress, now);
        exports.put(exportId, progress);
    }

    private ExportProgress onResult(String exportId, ExportProgress progress, TaskResult result) {
        String key = resultKey(exportId, result.taskId());
        if (progress.phase() != Phase.COLLECTING) {
            LOG.debug("export {}: ignoring result of {} that arrived after the export was decided ({})",
                    exportId, result.taskId(), progress.phase());
            return null;
        }
        if (results.get(key) != null) {
            LOG.debug("export {}: duplicate result of task {} ignored", exportId, result.taskId());
            return null;
        }
        // One entry per task: a value never grows with the export (changelog records stay far below 1 MB).
        results.put(key, Json.toBytes(result));
        return progress.withResult(result);
    }

    private ExportProgress onStatus(String exportId, ExportProgress progress, ExportStatus status, long now) {
        switch (status.state()) {
            case PLANNED -> {
                if (progress.planned() != null) {
                    return null; // planning is idempotent; the first plan stands
                }
                return progress.withPlanned(status);
            }
            case ASSEMBLING -> {
                if (progress.phase() != Phase.ASSEMBLING) {
                    return null; // an echo we already acted on, or one from before a state reset
                }
                ExportProgress finalizing = progress.in(Phase.FINALIZING, now);
                finalizers.submit(finalizing.status(ExportState.ASSEMBLING, null), partition);
                return finalizing;
            }
            case SUCCEEDED, FAILED -> {
                if (progress.phase().terminal()) {
                    return null;
                }
                if (status.state() == ExportState.FAILED && progress.phase() == Phase.COLLECTING) {
                    LOG.info("export {}: FAILED before assembly ({}); its results will be ignored",
                            exportId, status.error());
                }
                finalizers.cancel(exportId);
                unreported.remove(exportId);
                Phase phase = status.state() == ExportState.SUCCEEDED ? Phase.SUCCEEDED : Phase.FAILED;
                ExportProgress ended = progress.in(phase, now);
                if (ended.planned() == null) {
                    // e.g. the producer's FAILED for an unknown realm: keep it, so late results are ignored
                    ended = ended.withPlanned(status);
                }
                return ended;
            }
            default -> {
                return null; // RUNNING is ours and filtered before this point
            }
        }
    }

    /** Sends what the progress calls for: FAILED, ASSEMBLING or (throttled) RUNNING. */
    private ExportProgress decide(String exportId, ExportProgress progress, long now) {
        if (progress.phase() != Phase.COLLECTING || progress.planned() == null) {
            return progress; // without the plan there is no output directory and nothing to report
        }
        if (progress.error() != null) {
            ExportStatus failed = progress.status(ExportState.FAILED, progress.error());
            forward(exportId, failed, now);
            unreported.remove(exportId);
            metrics.exportFailed();
            LOG.error("export {} FAILED: {}. Fix the cause, then request the export again (a new request id).",
                    exportId, progress.error());
            return progress.in(Phase.FAILED, now);
        }
        if (progress.complete()) {
            forward(exportId, progress.status(ExportState.ASSEMBLING, null), now);
            unreported.remove(exportId);
            LOG.info("export {}: all {} tasks reported; assembling", exportId, progress.tasksDone());
            return progress.in(Phase.ASSEMBLING, now).reported(now);
        }
        if (progress.tasksDone() > 0) {
            if (now - progress.reportedAt() >= progressIntervalMs) {
                forward(exportId, progress.status(ExportState.RUNNING, null), now);
                unreported.remove(exportId);
                return progress.reported(now);
            }
            unreported.add(exportId);
        }
        return progress;
    }

    /** Punctuator: sends the RUNNING statuses the throttle held back. */
    private void reportHeldBack(long now) {
        if (unreported.isEmpty()) {
            return;
        }
        List<String> ids = new ArrayList<>(unreported);
        unreported.clear();
        for (String exportId : ids) {
            ExportProgress p = exports.get(exportId);
            if (p != null && p.phase() == Phase.COLLECTING && p.planned() != null && p.tasksDone() > 0) {
                forward(exportId, p.status(ExportState.RUNNING, null), now);
                exports.put(exportId, p.reported(now));
            }
        }
    }

    /** Punctuator: forgets exports that ended more than the retention ago (and orphans never planned). */
    private void cleanUp(long now) {
        List<String> expired = new ArrayList<>();
        try (KeyValueIterator<String, ExportProgress> it = exports.all()) {
            while (it.hasNext() && expired.size() < CLEANUP_BATCH) {
                KeyValue<String, ExportProgress> kv = it.next();
                ExportProgress p = kv.value;
                boolean ended = p.phase().terminal() && now - p.endedAt() > retentionMs;
                boolean orphan = p.phase() == Phase.COLLECTING && p.planned() == null
                        && now - p.firstSeenAt() > retentionMs;
                if (ended || orphan) {
                    expired.add(kv.key);
                }
            }
        }
        for (String exportId : expired) {
            List<String> keys = new ArrayList<>();
            try (KeyValueIterator<String, byte[]> it = results.prefixScan(resultPrefix(exportId), new StringSerializer())) {
                it.forEachRemaining(kv -> keys.add(kv.key));
            }
            keys.forEach(results::delete);
            exports.delete(exportId);
            LOG.debug("export {}: state removed after the retention ({} task results)", exportId, keys.size());
        }
    }

    private void forward(String exportId, ExportStatus status, long now) {
        context.forward(new Record<>(exportId, status, now));
    }

    @Override
    public void close() {
        // The task leaves this instance (or the instance stops): its exports finalize where it goes next.
        finalizers.cancelPartition(partition);
    }
}
