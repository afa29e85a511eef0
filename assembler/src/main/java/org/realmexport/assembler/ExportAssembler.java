package org.realmexport.assembler;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.MissingSourceTopicException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.metrics.ServiceMetrics;
import org.realmexport.common.db.Database;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

/**
 * The assembler service: a Kafka Streams application (application id
 * {@code <prefix>-assembler}, exactly-once) that counts the task results of each export once,
 * reports progress, decides when an export is complete or failed, and hands complete exports to
 * finalizers that run off the stream thread (attachments, reactions, clients, records of the copied
 * files, stats, manifest, tarball); their SUCCEEDED or FAILED leaves through the stream like every status.
 *
 * <pre>{@code
 * try (ExportAssembler assembler = new ExportAssembler(Map.of(
 *         "bootstrap.servers", "127.0.0.1:9092", "jdbc.url", url))) {
 *     assembler.start();
 *     ...
 * }
 * }</pre>
 * Settings: {@link ExportAssemblerConfig}. Any number of instances may run; each finalizes the
 * exports of the partitions it owns.
 */
public final class ExportAssembler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExportAssembler.class);
    static final String SERVICE = "assembler";

    private final ExportAssemblerConfig config;
    private final Topics topics;
    private final MeterRegistry registry;
    private final FinalizerHooks hooks;
    private Database database;
    private ExportStores stores;
    private FinalizerService finalizers;
    private volatile KafkaStreams streams;
    private KafkaStreamsMetrics streamsMetrics;
    private ServiceMetrics serviceMetrics;
    private boolean started;

    /** Meters go to /metrics on {@code metrics.port} when set, else to Micrometer's global registry ({@link ServiceMetrics}). */
    public ExportAssembler(Map<String, ?> config) {
        this(config, null, FinalizerHooks.NONE);
    }

    public ExportAssembler(Map<String, ?> config, MeterRegistry registry) {
        this(config, registry, FinalizerHooks.NONE);
    }

    ExportAssembler(Map<String, ?> config, MeterRegistry registry, FinalizerHooks hooks) {
        this.config = new ExportAssemblerConfig(config);
        this.topics = this.config.topics();
        this.registry = registry;
        this.hooks = hooks;
    }

    /** Creates missing topics, connects to the database and starts the stream and the finalizers. */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("the assembler is already started");
        }
        started = true;
        try {
            int inputPartitions = ensureTopics();
            int finalizerThreads = config.getInt(ExportAssemblerConfig.FINALIZER_THREADS);
            // one connection per finalizing, one more for reading the schema catalog once
            database = Database.open(config, finalizerThreads + 1, "assembler");
            stores = new ExportStores(config);
            ExportFinalizer finalizer = new ExportFinalizer(database, stores,
                    config.getBoolean(ExportAssemblerConfig.UPLOADS_ALLOW_MISSING),
                    config.getInt(ExportAssemblerConfig.GZIP_LEVEL), hooks);
            serviceMetrics = ServiceMetrics.open(config, registry, SERVICE);
            MeterRegistry meters = serviceMetrics.registry();
            AssemblerMetrics metrics = new AssemblerMetrics(serviceMetrics.meters());
            finalizers = new FinalizerService(finalizer, partition -> streams().store(
                    StoreQueryParameters.fromNameAndType(ProgressProcessor.RESULTS_STORE,
                            QueryableStoreTypes.<String, byte[]>keyValueStore()).withPartition(partition)),
                    metrics, finalizerThreads, RetryPolicy.of(config));
            KafkaStreams ks = new KafkaStreams(AssemblerTopology.build(topics, inputPartitions, finalizers, metrics,
                    config.getLong(ExportAssemblerConfig.PROGRESS_INTERVAL_MS),
                    config.getLong(ExportAssemblerConfig.RESULTS_RETENTION_MS)), streamsProperties());
            ks.setUncaughtExceptionHandler(e -> {
                if (e instanceof MissingSourceTopicException || e.getCause() instanceof MissingSourceTopicException) {
                    // a broker that restarts answers for a moment without the topics it holds: the
                    // assignment fails, and only a new stream thread asks again
                    LOG.warn("assembler stream thread replaced: {}. If this repeats, check that the topics exist"
                            + " (the assembler creates them at start).", e.toString());
                    return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
                }
                LOG.error("assembler stream failed and stops: {}. Restart the assembler; exports resume where"
                        + " they were.", e.toString(), e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            streams = ks;
            streamsMetrics = new KafkaStreamsMetrics(ks);
            streamsMetrics.bindTo(meters);
            ks.start();
            LOG.info("assembler started: application {} on {}, state in {}, {} finalizer threads",
                    topics.group(SERVICE), config.getString(RealmExportConfig.BOOTSTRAP_SERVERS),
                    config.stateDir(), finalizerThreads);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The Kafka Streams state ({@code RUNNING} once it has its partitions), or null before start. */
    public KafkaStreams.State state() {
        KafkaStreams ks = streams;
        return ks == null ? null : ks.state();
    }

    private KafkaStreams streams() {
        KafkaStreams ks = streams;
        if (ks == null) {
            throw new org.apache.kafka.streams.errors.InvalidStateStoreException("the assembler stream is not started");
        }
        return ks;
    }

    /** Creates missing topics; answers the partition count of the inputs, once they are fit to read. */
    private int ensureTopics() {
        config.ensureTopics();
        try (Admin admin = Admin.create(config.kafkaProperties())) {
            return InputTopicsCheck.verify(admin, topics, config.readerProperties(SERVICE + "-start-check"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking the topics", e);
        }
    }

    private Properties streamsProperties() {
        Properties props = config.kafkaProperties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, topics.group(SERVICE));
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir());
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.getLong(ExportAssemblerConfig.COMMIT_INTERVAL_MS));
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.getInt(ExportAssemblerConfig.STREAM_THREADS));
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.getShort(RealmExportConfig.REPLICATION_FACTOR));
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG,
                config.getLong(ExportAssemblerConfig.STATESTORE_CACHE_MAX_BYTES));
        props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbMemory.class);
        props.put(BoundedRocksDbMemory.MEMORY_BYTES, config.getLong(ExportAssemblerConfig.ROCKSDB_MEMORY_BYTES));
        return props;
    }

    /** The port this service serves /metrics on (metrics.port, 0 picks one), or -1. */
    public int metricsPort() {
        return serviceMetrics == null ? -1 : serviceMetrics.port();
    }

    /** Stops the stream, then the finalizers (an interrupted finalizing resumes on the next start). */
    @Override
    public synchronized void close() {
        KafkaStreams ks = streams;
        if (ks != null) {
            // leave the group: the partitions (and their finalizings) move to the other instances now,
            // not after a session timeout
            ks.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }
        if (streamsMetrics != null) {
            streamsMetrics.close();
        }
        if (finalizers != null) {
            finalizers.close();
        }
        if (stores != null) {
            stores.close();
        }
        if (database != null) {
            database.close();
        }
        if (serviceMetrics != null) {
            serviceMetrics.close();
        }
    }
}
