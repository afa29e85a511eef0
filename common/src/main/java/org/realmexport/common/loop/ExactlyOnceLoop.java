package org.realmexport.common.loop;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.realmexport.common.db.Database;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.Versioned;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The exactly-once consume-process-produce loop of the producer and the shard workers, on a
 * thread of its own: poll a batch, {@linkplain Handler#process process} each record, then send
 * the outputs and commit the batch's offsets in ONE Kafka transaction. A reader in
 * {@code read_committed} sees each input's outputs once, or not at all.
 *
 * <p>Errors, by kind:
 * <ul>
 *   <li>a record that cannot be {@linkplain Handler#read read} goes to the dead-letter topic
 *       with the reason and its original bytes, in the same transaction;</li>
 *   <li>a transient database fault while processing ({@link RetryPolicy#isTransient}) abandons
 *       the batch uncommitted, rewinds to its first offsets and processes it again after a
 *       backoff, until the policy's attempts are spent; then, and for any other error, the
 *       handler's {@linkplain Handler#failed failure outputs} are committed instead;</li>
 *   <li>a Kafka error of the transaction (a rebalance took the partition, the broker is away)
 *       aborts it and rewinds likewise, without counting an attempt;</li>
 *   <li>fencing, an out-of-order sequence, an authorization or version error are fatal for
 *       this producer: the loop stops, leaving its uncommitted batch to the next instance.</li>
 * </ul>
 * Processing must therefore be idempotent: a batch may be processed more than once, and only
 * one run's outputs are ever committed.
 *
 * <pre>{@code
 * ExactlyOnceLoop<ExportTask> loop = ExactlyOnceLoop.start(settings, kafkaProperties, handler);
 * ...
 * loop.close();
 * }</pre>
 *
 * @param <T> what a record is read into
 */
public final class ExactlyOnceLoop<T> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExactlyOnceLoop.class);

    /** What a service does with its records; every method runs on the loop's thread. */
    public interface Handler<T> {
        /** Decodes a record; an exception sends it to the dead-letter topic with the exception's message. */
        T read(ConsumerRecord<String, byte[]> record) throws Exception;

        /** Does the work; an exception is retried when transient, else reported by {@link #failed}. */
        Output process(T value) throws Exception;

        /** The outputs that report a failed value: its error was permanent, or transient on the last attempt. */
        Output failed(T value, Exception error, int attempts);

        /** Names a value in log lines (e.g. "export 1a2b messages-000007"). */
        default String describe(T value) {
            return String.valueOf(value);
        }

        /** Runs inside the transaction, after the sends and before the commit: a fault-injection point for tests. */
        default void beforeCommit(T value) {
        }

        /** Partitions just assigned to this instance (before their first records are polled). */
        default void assigned(Collection<TopicPartition> partitions) {
        }
    }

    /**
     * The records one value sends, what to do once they are committed (a log line, a counter), and
     * what must be done before they are sent, if anything: work the records promise that the handler
     * left running in the background (files being made durable), so that the loop's thread could go
     * on with the next value meanwhile. When it fails, the batch is processed again.
     */
    public record Output(List<ProducerRecord<String, byte[]>> records, Runnable afterCommit, Future<?> ready) {
        public Output {
            records = List.copyOf(records);
            afterCommit = afterCommit == null ? () -> { } : afterCommit;
        }

        public Output(List<ProducerRecord<String, byte[]>> records, Runnable afterCommit) {
            this(records, afterCommit, null);
        }

        public static Output of(List<ProducerRecord<String, byte[]>> records) {
            return new Output(records, null);
        }
    }

    /**
     * @param name            the instance in thread names and log lines ("shard worker w1")
     * @param service         the service in dead letters and client ids ("shard-worker")
     * @param instanceId      this instance's id, in client ids
     * @param groupId         the consumer group
     * @param transactionalId the producer's transactional.id; one per live instance
     * @param topics          the input topics
     * @param deadLetterTopic where unreadable records go
     * @param maxPollRecords  records per batch, hence per transaction
     * @param maxPollInterval longest batch before the group hands its partitions to another member
     * @param pollTimeout     how long one poll waits
     * @param closeTimeout    how long {@link #close()} waits for the batch in flight
     * @param retry           how transient faults are retried
     */
    public record Settings(String name, String service, String instanceId, String groupId, String transactionalId,
                           List<String> topics, String deadLetterTopic, int maxPollRecords, Duration maxPollInterval,
                           Duration pollTimeout, Duration closeTimeout, RetryPolicy retry) {
        public Settings {
            Objects.requireNonNull(name);
            Objects.requireNonNull(transactionalId);
            topics = List.copyOf(topics);
        }

        Properties consumerProperties(Properties kafka) {
            Properties p = new Properties();
            p.putAll(kafka);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
            p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) maxPollInterval.toMillis());
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, service + "-" + instanceId);
            return p;
        }

        Properties producerProperties(Properties kafka) {
            Properties p = new Properties();
            p.putAll(kafka);
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.CLIENT_ID_CONFIG, service + "-" + instanceId + "-producer");
            return p;
        }
    }

    private final Settings settings;
    private final Handler<T> handler;
    private final Consumer<String, byte[]> consumer;
    private final Supplier<Producer<String, byte[]>> producers;
    /** Failed attempts of the record a batch last stopped at, by partition and offset. */
    private final Map<TopicPartition, Map<Long, Integer>> attempts = new HashMap<>();
    private final Object sleeper = new Object();
    private final AtomicLong redone = new AtomicLong();
    private Producer<String, byte[]> producer;
    private volatile boolean running;
    private volatile Thread thread;

    ExactlyOnceLoop(Settings settings, Consumer<String, byte[]> consumer, Supplier<Producer<String, byte[]>> producers,
                    Handler<T> handler) {
        this.settings = settings;
        this.consumer = consumer;
        this.producers = producers;
        this.handler = handler;
    }

    /**
     * Connects a transactional producer and a {@code read_committed} consumer (with the given base
     * Kafka properties), and starts the loop on a thread of its own. Fails when Kafka cannot be
     * reached or the transactional.id cannot be initialised.
     */
    public static <T> ExactlyOnceLoop<T> start(Settings settings, Properties kafka, Handler<T> handler) {
        Properties pp = settings.producerProperties(kafka);
        Consumer<String, byte[]> consumer = new KafkaConsumer<>(settings.consumerProperties(kafka),
                new StringDeserializer(), new ByteArrayDeserializer());
        ExactlyOnceLoop<T> loop = new ExactlyOnceLoop<>(settings, consumer,
                () -> new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer()), handler);
        return loop.start();
    }

    synchronized ExactlyOnceLoop<T> start() {
        open();
        thread = new Thread(this::run, settings.name().replace(' ', '-'));
        thread.start();
        return this;
    }

    /** Initialises the producer's transactions and subscribes; {@link #pollOnce()} may follow (tests call it directly). */
    void open() {
        if (running || thread != null) {
            throw new IllegalStateException(settings.name() + " already started");
        }
        try {
            producer = newProducer();
            consumer.subscribe(settings.topics(), new Rebalances());
        } catch (RuntimeException e) {
            closeClients(Duration.ZERO);
            throw e;
        }
        running = true;
    }

    /** Whether the loop is still consuming. */
    public boolean isRunning() {
        Thread t = thread;
        return running && t != null && t.isAlive();
    }

    /** Batches abandoned on a transient database fault, to be processed again. */
    public long redone() {
        return redone.get();
    }

    /** True once {@link #close()} was called or the loop stopped: long work should give up. */
    public boolean stopping() {
        return !running;
    }

    /**
     * Stops the loop: the batch in flight is abandoned uncommitted unless it ends within the close
     * timeout (another instance then redoes it), then the clients are closed.
     */
    @Override
    public void close() {
        running = false;
        synchronized (sleeper) {
            sleeper.notifyAll();
        }
        Thread t = thread;
        if (t == null) {
            closeClients(Duration.ZERO);
            return;
        }
        if (t != Thread.currentThread()) {
            consumer.wakeup();
            try {
                t.join(settings.closeTimeout().toMillis() + 3_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("{} did not stop in time; its batch in flight stays uncommitted and will be redone", settings.name());
            }
        }
    }

    private void run() {
        Duration closing = Duration.ofSeconds(2);
        try {
            while (running) {
                pollOnce();
            }
        } catch (WakeupException e) {
            // close()
        } catch (RuntimeException | Error e) {
            if (e instanceof KafkaException k && fatal(k)) {
                LOG.error("{} stops: {}. Its uncommitted batch is left to another instance. A fenced producer"
                        + " means another live instance uses transactional.id {}: give every instance its own id.",
                        settings.name(), e.toString(), settings.transactionalId());
            } else {
                closing = Duration.ZERO; // like a killed process: nothing more leaves this one
                LOG.error("{} stopped on an unexpected error; its uncommitted batch will be redone by another"
                        + " instance", settings.name(), e);
            }
        } finally {
            running = false;
            closeClients(closing);
        }
    }

    /** Polls one batch, processes it and commits it, or rewinds it to be processed again. */
    void pollOnce() {
        ConsumerRecords<String, byte[]> records;
        try {
            records = consumer.poll(settings.pollTimeout());
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            if (fatal(e)) {
                throw e;
            }
            LOG.warn("{}: poll failed ({}); polling again", settings.name(), e.toString());
            pause(settings.retry().delayMs(1));
            return;
        }
        if (records.isEmpty()) {
            return;
        }
        List<ConsumerRecord<String, byte[]>> batch = new ArrayList<>();
        records.forEach(batch::add);
        List<Output> outputs = new ArrayList<>();
        List<T> values = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : batch) {
            if (!running) {
                return; // abandoned uncommitted: the clients close, another instance redoes it
            }
            T value;
            try {
                value = handler.read(record);
            } catch (Exception e) {
                LOG.warn("{}: unreadable record at {}-{}@{} goes to the dead-letter topic: {}", settings.name(),
                        record.topic(), record.partition(), record.offset(), e.getMessage());
                outputs.add(Output.of(List.of(deadLetter(record, e))));
                continue;
            }
            Output out;
            try {
                out = handler.process(value);
            } catch (Exception e) {
                if (!running) {
                    LOG.info("{}: {} abandoned: stopping; another instance will redo it", settings.name(),
                            handler.describe(value));
                    return;
                }
                int attempt = failedAttempt(record);
                if (settings.retry().retries(e, attempt)) {
                    long delay = settings.retry().delayMs(attempt);
                    LOG.warn("{}: {} hit a transient database fault (attempt {} of {}): {}; redoing it in {} ms",
                            settings.name(), handler.describe(value), attempt, settings.retry().attempts(),
                            Database.redact(e.toString()), delay);
                    rewind(batch);
                    redone.incrementAndGet();
                    pause(delay);
                    return;
                }
                out = handler.failed(value, e, attempt);
            }
            outputs.add(out);
            values.add(value);
        }
        if (commit(batch, outputs, values)) {
            for (ConsumerRecord<String, byte[]> record : batch) {
                Map<Long, Integer> byOffset = attempts.get(new TopicPartition(record.topic(), record.partition()));
                if (byOffset != null) {
                    byOffset.remove(record.offset());
                }
            }
            outputs.forEach(o -> o.afterCommit().run());
        }
    }

    /** Sends the outputs and commits the batch's offsets in one transaction; false when it was rewound instead. */
    private boolean commit(List<ConsumerRecord<String, byte[]>> batch, List<Output> outputs, List<T> values) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : batch) {
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        if (!awaitReady(batch, outputs)) {
            return false;
        }
        try {
            if (producer == null) {
                producer = newProducer();
            }
            producer.beginTransaction();
            for (Output out : outputs) {
                for (ProducerRecord<String, byte[]> r : out.records()) {
                    producer.send(r);
                }
            }
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            values.forEach(handler::beforeCommit);
            producer.commitTransaction();
            return true;
        } catch (KafkaException e) {
            if (fatal(e)) {
                throw e;
            }
            // typically a rebalance took a partition (the commit's generation is stale) or the
            // broker is away: nothing is committed; the new owner, or this one, redoes the batch
            LOG.warn("{}: batch at {} not committed ({}); it will be processed again", settings.name(), offsets.keySet(),
                    e.toString());
            abort();
            rewind(batch);
            pause(settings.retry().delayMs(1));
            return false;
        }
    }

    /** Waits for the outputs' background work; false (the batch rewound) when some of it failed. */
    private boolean awaitReady(List<ConsumerRecord<String, byte[]>> batch, List<Output> outputs) {
        for (Output out : outputs) {
            if (out.ready() == null) {
                continue;
            }
            try {
                out.ready().get();
            } catch (ExecutionException e) {
                LOG.warn("{}: batch at {}-{}@{} not committed: {}; it will be processed again", settings.name(),
                        batch.get(0).topic(), batch.get(0).partition(), batch.get(0).offset(), e.getCause().toString());
                rewind(batch);
                redone.incrementAndGet();
                pause(settings.retry().delayMs(1));
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                rewind(batch);
                return false;
            }
        }
        return true;
    }

    private void abort() {
        if (producer == null) {
            return;
        }
        try {
            producer.abortTransaction();
        } catch (KafkaException | IllegalStateException e) {
            if (e instanceof KafkaException k && fatal(k)) {
                throw k;
            }
            // the producer's state is unknown: a new one's initTransactions aborts whatever is open
            LOG.debug("{}: abort failed ({}); the producer is replaced", settings.name(), e.toString());
            try {
                producer.close(Duration.ZERO);
            } catch (RuntimeException ignored) {
                // being replaced anyway
            }
            producer = null;
        }
    }

    private Producer<String, byte[]> newProducer() {
        Producer<String, byte[]> p = producers.get();
        try {
            p.initTransactions(); // fences an older instance with the same transactional.id, aborts its open transaction
        } catch (RuntimeException e) {
            p.close(Duration.ZERO);
            throw e;
        }
        return p;
    }

    /** Seeks every partition of the batch back to its first record in it (the last committed offset). */
    private void rewind(List<ConsumerRecord<String, byte[]>> batch) {
        Map<TopicPartition, Long> first = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : batch) {
            first.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
        }
        Collection<TopicPartition> owned = consumer.assignment();
        first.forEach((tp, offset) -> {
            if (owned.contains(tp)) {
                consumer.seek(tp, offset);
            }
        });
    }

    /** Counts a failed attempt at {@code record}; returns its number (1 for the first failure). */
    private int failedAttempt(ConsumerRecord<String, byte[]> record) {
        return attempts.computeIfAbsent(new TopicPartition(record.topic(), record.partition()), tp -> new HashMap<>())
                .merge(record.offset(), 1, Integer::sum);
    }

    /** Waits, waking early on close(). */
    private void pause(long millis) {
        long until = System.currentTimeMillis() + millis;
        synchronized (sleeper) {
            long left;
            while (running && (left = until - System.currentTimeMillis()) > 0) {
                try {
                    sleeper.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private ProducerRecord<String, byte[]> deadLetter(ConsumerRecord<String, byte[]> record, Exception e) {
        DeadLetter dl = new DeadLetter(Versioned.CURRENT, record.topic(), record.partition(), record.offset(),
                String.valueOf(e.getMessage()), record.key(),
                record.value() == null ? null : Base64.getEncoder().encodeToString(record.value()),
                settings.service(), System.currentTimeMillis());
        return new ProducerRecord<>(settings.deadLetterTopic(), record.key(), org.realmexport.common.Json.toBytes(dl));
    }

    /** Errors after which this producer can do nothing right: only a new instance may go on. */
    static boolean fatal(KafkaException e) {
        return e instanceof ProducerFencedException || e instanceof InvalidProducerEpochException
                || e instanceof OutOfOrderSequenceException || e instanceof AuthorizationException
                || e instanceof UnsupportedVersionException || e instanceof FencedInstanceIdException;
    }

    private void closeClients(Duration timeout) {
        if (producer != null) {
            try {
                producer.close(timeout);
            } catch (RuntimeException e) {
                LOG.debug("closing producer", e);
            }
        }
        try {
            consumer.close(timeout);
        } catch (RuntimeException e) {
            LOG.debug("closing consumer", e);
        }
    }

    private final class Rebalances implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // batches are committed inside the poll loop, so nothing is in flight here
            partitions.forEach(attempts::remove);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            partitions.forEach(attempts::remove);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                LOG.debug("{} now owns {}", settings.name(), partitions);
                handler.assigned(partitions);
            }
        }
    }
}
