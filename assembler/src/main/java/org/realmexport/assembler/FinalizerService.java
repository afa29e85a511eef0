package org.realmexport.assembler;

import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.realmexport.common.Json;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.realmexport.common.ExportId;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs finalizings off the stream thread and answers each with the export's terminal status.
 *
 * <p>The flow is one-way: {@link ProgressProcessor} hands over an export it has just found
 * complete and gets a {@link Future} of its SUCCEEDED or FAILED status, which the processor sends
 * itself, through the stream, once it is done. This service posts nothing and knows nothing of
 * the processor; the stream's exactly-once producer writes every status the assembler decides,
 * in order, after the ASSEMBLING it follows.
 *
 * <p>Why an executor fed by the stream processor rather than a consumer group of its own on the
 * status topic: the finalizer needs every result of the export, and those live in the state
 * store of the stream task that owns the export's partition. Fed by that task, the finalizer
 * always runs on the instance that holds the store and reads it locally (interactive query with a
 * prefix scan on that one partition).
 *
 * <p>A finalizing stopped by a shutdown or a lost partition answers null: the processor's
 * FINALIZING phase is in its changelogged store, and whoever owns the partition next hands the
 * export over again. Finalizing is idempotent ({@link ExportFinalizer}). At most one finalizing
 * per export runs in this instance.
 */
final class FinalizerService implements ProgressProcessor.Finalizers, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FinalizerService.class);
    private static final Duration STORE_WAIT = Duration.ofMinutes(5);

    /** The local results store of one partition (an interactive query); throws while it is unavailable. */
    interface ResultStores {
        ReadOnlyKeyValueStore<String, byte[]> partition(int partition);
    }


    private final ExportFinalizer finalizer;
    private final ResultStores stores;
    private final AssemblerMetrics metrics;
    private final RetryPolicy retry;
    private final ExecutorService executor;
    private final Map<String, Future<ExportStatus>> jobs = new ConcurrentHashMap<>();
    private volatile boolean closed;

    FinalizerService(ExportFinalizer finalizer, ResultStores stores, AssemblerMetrics metrics, int threads,
                     RetryPolicy retry) {
        this.finalizer = finalizer;
        this.retry = retry;
        this.stores = stores;
        this.metrics = metrics;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "assembler-finalizer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newFixedThreadPool(threads, factory);
    }

    /** Finalizes the export, or joins the finalizing of it already running here. */
    @Override
    public Future<ExportStatus> submit(ExportStatus assembling, int partition) {
        if (closed) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        jobs.values().removeIf(Future::isDone);
        return jobs.compute(assembling.exportId(), (id, running) -> running != null && !running.isDone() ? running
                : executor.submit(() -> run(assembling, partition)));
    }

    /** The export's SUCCEEDED or FAILED status, or null when finalizing was stopped (it resumes elsewhere). */
    private ExportStatus run(ExportStatus status, int partition) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, status.exportId())) {
            return finalize(status, partition);
        }
    }

    private ExportStatus finalize(ExportStatus status, int partition) {
        String exportId = status.exportId();
        long start = System.nanoTime();
        try {
            ExportFinalizer.Finalized done = finalizeRetrying(status, partition);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            metrics.exportFinalized(took);
            LOG.info("export {} SUCCEEDED: {} ({} bytes, sha256 {}) in {} ms {}", exportId, done.tarball(), done.size(),
                    done.sha256(), took.toMillis(), done.stepMillis());
            return withRows(status.succeeded(done.tarball().toString(), done.sha256(), done.size()), done.rows());
        } catch (ExportAnomaly anomaly) {
            return fail(status, anomaly.getMessage(), "fix it, then request the export again", start);
        } catch (InterruptedException | InvalidStateStoreException e) {
            // shutdown, or the partition moved: the next owner of the task finalizes it again
            LOG.info("export {}: finalizing stopped ({}); it resumes when its task is next assigned",
                    exportId, e.toString());
            return null;
        } catch (Exception e) {
            if (closed || Thread.currentThread().isInterrupted()) {
                LOG.info("export {}: finalizing stopped by shutdown ({}); it resumes on restart", exportId, e.toString());
                return null;
            }
            // unreadable storage, a database away past the retries, a full disk ...: a clear FAILED beats retrying forever
            return fail(status, "finalizing failed: " + e, "check the storage and database named above, then request"
                    + " the export again", start);
        }
    }

    /** The status with the final row counts (the workers' tables plus attachments, reactions, clients). */
    private static ExportStatus withRows(ExportStatus s, Map<String, Long> rows) {
        return s.withRows(rows);
    }

    private ExportStatus fail(ExportStatus status, String anomaly, String advice, long start) {
        metrics.exportFailed();
        metrics.finalizeTook(Duration.ofNanos(System.nanoTime() - start));
        LOG.error("export {} FAILED: {}. Operator: {}.", status.exportId(), anomaly, advice);
        return status.withState(ExportState.FAILED, anomaly);
    }

    /**
     * Finalizes, again after a backoff while its database error is transient (the server restarting,
     * the connection lost): finalizing is idempotent. Past the policy's attempts the last error
     * fails the export.
     */
    private ExportFinalizer.Finalized finalizeRetrying(ExportStatus status, int partition) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return finalizeWhenStoreReady(status, partition);
            } catch (ExportAnomaly | InterruptedException | InvalidStateStoreException e) {
                throw e;
            } catch (Exception e) {
                if (closed || !retry.retries(e, attempt)) {
                    if (attempt > 1) {
                        throw new IOException("after " + attempt + " attempts: " + e, e);
                    }
                    throw e;
                }
                long delay = retry.delayMs(attempt);
                LOG.warn("export {}: finalizing hit a transient database fault (attempt {} of {}): {}; finalizing"
                        + " again in {} ms", status.exportId(), attempt, retry.attempts(), e.toString(), delay);
                Thread.sleep(delay);
            }
        }
    }

    /**
     * Finalizes with the results read from the local store of the partition. While the instance
     * (re)starts or rebalances the store is not queryable (and a store handle can become unusable
     * between two calls); finalizing is idempotent and reads the store only at its start, so it is
     * simply tried again, until the store answers or the partition is taken away (interrupt).
     */
    private ExportFinalizer.Finalized finalizeWhenStoreReady(ExportStatus status, int partition)
            throws ExportAnomaly, IOException, java.sql.SQLException, InterruptedException {
        String exportId = status.exportId();
        long deadline = System.nanoTime() + STORE_WAIT.toNanos();
        while (true) {
            try {
                ReadOnlyKeyValueStore<String, byte[]> store = stores.partition(partition);
                return finalizer.finalizeExport(status, visitor -> {
                    try (KeyValueIterator<String, byte[]> it = store.prefixScan(
                            ProgressProcessor.resultPrefix(exportId), new StringSerializer())) {
                        while (it.hasNext()) {
                            TaskResult result;
                            try {
                                result = Json.fromBytes(it.next().value, TaskResult.class);
                            } catch (IOException e) {
                                throw new ExportAnomaly("a stored task result is unreadable: " + e.getMessage());
                            }
                            visitor.accept(result);
                        }
                    }
                });
            } catch (InvalidStateStoreException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("finalizer threads still busy after 10 s (a database query cannot be interrupted);"
                        + " their exports finalize again on restart");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
