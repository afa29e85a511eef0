package org.realmexport.assembler;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs finalizings off the stream thread.
 *
 * <p>Why an executor fed by the stream processor rather than a consumer group of its own on the
 * status topic: the finalizer needs every result of the export, and those live in the state
 * store of the stream task that owns the export's partition. Fed by that task, the finalizer
 * always runs on the instance that holds the store and reads it locally (interactive query with a
 * prefix scan on that one partition); a separate consumer group would be assigned partitions
 * independently of Streams and, with several instances, would have to re-read the results topic
 * or query another instance's store over a network layer we do not have.
 *
 * <p>Recovery: the processor hands an export over only once its ASSEMBLING status is committed,
 * records FINALIZING in its changelogged store, and on every (re)start or reassignment of the
 * task hands over again each export still in that phase; it leaves it only when the finalizer's
 * SUCCEEDED/FAILED comes back through the status topic. A finalizer that dies, is interrupted by
 * a shutdown or loses its partition simply runs again, here or on the new owner; that is safe
 * because finalizing is idempotent ({@link ExportFinalizer}). At most one finalizing per export
 * runs in this instance.
 */
final class FinalizerService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FinalizerService.class);
    private static final Duration STORE_WAIT = Duration.ofMinutes(5);
    private static final Duration POST_TIMEOUT = Duration.ofSeconds(60);

    /** The local results store of one partition (an interactive query); throws while it is unavailable. */
    interface ResultStores {
        ReadOnlyKeyValueStore<String, byte[]> partition(int partition);
    }

    private record Job(int partition, Future<?> future) {
    }

    private final ExportFinalizer finalizer;
    private final ResultStores stores;
    private final Producer<String, byte[]> producer;
    private final String statusTopic;
    private final AssemblerMetrics metrics;
    private final RetryPolicy retry;
    private final ExecutorService executor;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private volatile boolean closed;

    FinalizerService(ExportFinalizer finalizer, ResultStores stores, Producer<String, byte[]> producer,
                     String statusTopic, AssemblerMetrics metrics, int threads, RetryPolicy retry) {
        this.finalizer = finalizer;
        this.retry = retry;
        this.stores = stores;
        this.producer = producer;
        this.statusTopic = statusTopic;
        this.metrics = metrics;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "assembler-finalizer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newFixedThreadPool(threads, factory);
    }

    /** Finalizes the export unless a finalizing of it is already running here. */
    void submit(ExportStatus status, int partition) {
        if (closed) {
            return;
        }
        jobs.values().removeIf(job -> job.future().isDone());
        jobs.compute(status.exportId(), (id, running) -> {
            if (running != null && !running.future().isDone()) {
                return running;
            }
            return new Job(partition, executor.submit(() -> run(status, partition)));
        });
    }

    /** Stops the finalizing of one export (it ended another way). */
    void cancel(String exportId) {
        Job job = jobs.remove(exportId);
        if (job != null) {
            job.future().cancel(true);
        }
    }

    /** Stops the finalizings of a partition this instance no longer owns; the new owner resumes them. */
    void cancelPartition(int partition) {
        jobs.entrySet().removeIf(e -> {
            if (e.getValue().partition() == partition) {
                e.getValue().future().cancel(true);
                return true;
            }
            return false;
        });
    }

    private void run(ExportStatus status, int partition) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, status.exportId())) {
            finalize(status, partition);
        }
    }

    private void finalize(ExportStatus status, int partition) {
        String exportId = status.exportId();
        long start = System.nanoTime();
        try {
            ExportFinalizer.Finalized done = finalizeRetrying(status, partition);
            try {
                post(withRows(status.succeeded(done.tarball(), done.sha256(), done.size()), done.rows()));
            } catch (ExecutionException | TimeoutException e) {
                // the export is complete; only the word is missing: never FAILED for that
                LOG.error("export {}: finalized ({}) but SUCCEEDED could not be posted ({}); it is finalized"
                        + " again, with the same bytes, when its task is next assigned", exportId, done.tarball(),
                        e.toString());
                return;
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            metrics.exportFinalized(took);
            LOG.info("export {} SUCCEEDED: {} ({} bytes, sha256 {}) in {} ms {}", exportId, done.tarball(), done.size(),
                    done.sha256(), took.toMillis(), done.stepMillis());
        } catch (ExportAnomaly anomaly) {
            fail(status, anomaly.getMessage(), "fix it, then request the export again", start);
        } catch (InterruptedException | InvalidStateStoreException e) {
            // shutdown, or the partition moved: the next owner of the task finalizes it again
            LOG.info("export {}: finalizing stopped ({}); it resumes when its task is next assigned",
                    exportId, e.toString());
        } catch (Exception e) {
            if (closed || Thread.currentThread().isInterrupted()) {
                LOG.info("export {}: finalizing stopped by shutdown ({}); it resumes on restart", exportId, e.toString());
                return;
            }
            // unreadable storage, unreachable database, a full disk ...: a clear FAILED beats retrying forever
            fail(status, "finalizing failed: " + e, "check the storage and database named above, then request"
                    + " the export again", start);
        }
    }

    /** The status with the final row counts (the workers' tables plus attachments, reactions, clients). */
    private static ExportStatus withRows(ExportStatus s, Map<String, Long> rows) {
        return new ExportStatus(s.v(), s.exportId(), s.requestId(), s.realmId(), s.realm(), s.type(), s.state(),
                s.tasksPlanned(), s.tasksDone(), s.watermark(), s.messages(), s.output(), s.tarball(), s.sha256(),
                s.size(), rows, s.error(), s.realmExportId(), s.updatedAt(), s.skippedTables());
    }

    private void fail(ExportStatus status, String anomaly, String advice, long start) {
        try {
            post(status.withState(ExportState.FAILED, anomaly));
            metrics.exportFailed();
            metrics.finalizeTook(Duration.ofNanos(System.nanoTime() - start));
            LOG.error("export {} FAILED: {}. Operator: {}.", status.exportId(), anomaly, advice);
        } catch (Exception e) {
            LOG.error("export {}: could not post FAILED ({}); it is finalized again when the assembler restarts."
                    + " Anomaly: {}", status.exportId(), e.toString(), anomaly);
        }
    }

    private void post(ExportStatus status) throws InterruptedException, ExecutionException, TimeoutException {
        producer.send(new ProducerRecord<>(statusTopic, status.exportId(), Json.toBytes(status)))
                .get(POST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
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
