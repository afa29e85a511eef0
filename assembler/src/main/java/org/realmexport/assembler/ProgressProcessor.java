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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Counts each task of an export once and decides: complete (ASSEMBLING, then the finalizer's
 * SUCCEEDED or FAILED) or failed (FAILED). Runs on the stream thread, so it only decides; the long
 * I/O of finalizing runs in the {@link Finalizers} it hands complete exports to.
 *
 * <p>One way: results and the producer's statuses come in, every status the assembler decides
 * goes out through the stream (one exactly-once producer, in order). An export found complete is
 * handed to the finalizers at once, and the status they answer with is sent by a punctuator of
 * this processor; nothing comes back through the status topic. The FINALIZING phase is in the
 * store (changelogged in the same transaction as the consumed offset), so a restarted or newly
 * assigned task hands every export still in that phase to the finalizers again; finalizing is
 * idempotent.
 */
final class ProgressProcessor implements Processor<String, AssemblerEvent, String, ExportStatus> {
    static final String EXPORTS_STORE = "assembler-exports";
    static final String RESULTS_STORE = "assembler-task-results";
    private static final Logger LOG = LoggerFactory.getLogger(ProgressProcessor.class);
    private static final Duration CLEANUP_INTERVAL = Duration.ofMinutes(10);
    /** How often finished finalizings are looked for. */
    private static final Duration FINALIZED_CHECK = Duration.ofMillis(100);
    /** Exports removed per clean-up sweep, so that one sweep never stalls the stream thread. */
    private static final int CLEANUP_BATCH = 200;

    /** Where complete exports go: finalizing off the stream thread, answered by a terminal status. */
    interface Finalizers {
        /**
         * Starts finalizing (or joins the finalizing already running) of an export; the future
         * answers its SUCCEEDED or FAILED status, or null when finalizing was stopped.
         */
        Future<ExportStatus> submit(ExportStatus assembling, int partition);
    }

    private final Finalizers finalizers;
    private final AssemblerMetrics metrics;
    private final long progressIntervalMs;
    private final long retentionMs;

    private ProcessorContext<String, ExportStatus> context;
    private KeyValueStore<String, ExportProgress> exports;
    private KeyValueStore<String, byte[]> results;
    private int partition;
    /** Exports whose RUNNING status was held back by the throttle (in memory: losing it costs one update). */
    private final Set<String> unreported = new LinkedHashSet<>();
    /** Finalizings of this task's exports, by export id. */
    private final Map<String, Future<ExportStatus>> finalizing = new LinkedHashMap<>();

    ProgressProcessor(Finalizers finalizers, AssemblerMetrics metrics, long progressIntervalMs, long retentionMs) {
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
                if (p.phase().finalizing() && p.planned() != null) {
                    resume.add(p.status(ExportState.ASSEMBLING, null));
                }
            }
        }
        for (ExportStatus status : resume) {
            LOG.info("export {}: resuming its finalizing (task {} assigned to this instance)",
                    status.exportId(), ctx.taskId());
            finalizing.put(status.exportId(), finalizers.submit(status, partition));
        }
        ctx.schedule(FINALIZED_CHECK, PunctuationType.WALL_CLOCK_TIME, this::reportFinalized);
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
            case SUCCEEDED, FAILED -> {
                if (progress.phase().terminal()) {
                    return null;
                }
                if (status.state() == ExportState.FAILED && progress.phase() == Phase.COLLECTING) {
                    LOG.info("export {}: FAILED before assembly ({}); its results will be ignored",
                            exportId, status.error());
                }
                Future<ExportStatus> job = finalizing.remove(exportId);
                if (job != null) {
                    job.cancel(true);
                }
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
                return null; // RUNNING and ASSEMBLING are ours, filtered before this point
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
            context.commit();
            unreported.remove(exportId);
            metrics.exportFailed();
            LOG.error("export {} FAILED: {}. Fix the cause, then request the export again (a new request id).",
                    exportId, progress.error());
            return progress.in(Phase.FAILED, now);
        }
        if (progress.complete()) {
            ExportStatus assembling = progress.status(ExportState.ASSEMBLING, null);
            forward(exportId, assembling, now);
            unreported.remove(exportId);
            LOG.info("export {}: all {} tasks reported; assembling", exportId, progress.tasksDone());
            finalizing.put(exportId, finalizers.submit(assembling, partition));
            return progress.in(Phase.FINALIZING, now).reported(now);
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

    /** Punctuator: sends the SUCCEEDED or FAILED status of each finished finalizing. */
    private void reportFinalized(long now) {
        if (finalizing.isEmpty()) {
            return;
        }
        for (var it = finalizing.entrySet().iterator(); it.hasNext(); ) {
            var job = it.next();
            if (!job.getValue().isDone()) {
                continue;
            }
            it.remove();
            String exportId = job.getKey();
            ExportStatus end;
            try {
                end = job.getValue().get();
            } catch (CancellationException e) {
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException e) {
                end = null;
                LOG.error("export {}: finalizer failed unexpectedly; finalizing again", exportId, e.getCause());
                ExportProgress p = exports.get(exportId);
                if (p != null && p.phase().finalizing()) {
                    finalizing.put(exportId, finalizers.submit(p.status(ExportState.ASSEMBLING, null), partition));
                }
                return; // the iterator is stale now; the next punctuation looks again
            }
            ExportProgress p = exports.get(exportId);
            if (end == null || p == null || !p.phase().finalizing()) {
                continue; // stopped (resumes on the next assignment), or the export ended another way
            }
            forward(exportId, end, now);
            exports.put(exportId, p.in(end.state() == ExportState.SUCCEEDED ? Phase.SUCCEEDED : Phase.FAILED, now));
            // the end is what the requester waits for: commit now rather than at the next interval
            context.commit();
        }
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
        finalizing.values().forEach(job -> job.cancel(true));
        finalizing.clear();
    }
}
