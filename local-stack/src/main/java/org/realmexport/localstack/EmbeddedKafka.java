package org.realmexport.localstack;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A single-node Kafka cluster inside this JVM: one KRaft process that is broker and controller,
 * listening on 127.0.0.1, with its log in a directory the caller owns and deletes.
 */
final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final int START_ATTEMPTS = 3;
    /** Distinct node ids keep the JMX names of brokers that run side by side in one JVM apart. */
    private static final AtomicInteger NODE_IDS = new AtomicInteger();

    /**
     * Settings for a small single-node cluster. Every internal topic has one replica (the defaults
     * of 3 would never become available); sizes and thread counts are cut down because this broker
     * shares a small heap and two cores with the services it serves.
     */
    static Map<String, String> defaults() {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("offsets.topic.replication.factor", "1");
        config.put("offsets.topic.num.partitions", "5");
        config.put("offsets.topic.segment.bytes", Integer.toString(8 << 20));
        config.put("transaction.state.log.replication.factor", "1");
        config.put("transaction.state.log.min.isr", "1");
        config.put("transaction.state.log.num.partitions", "5");
        config.put("transaction.state.log.segment.bytes", Integer.toString(8 << 20));
        config.put("share.coordinator.state.topic.replication.factor", "1");
        config.put("share.coordinator.state.topic.min.isr", "1");
        config.put("share.coordinator.state.topic.num.partitions", "5");
        config.put("share.coordinator.state.topic.segment.bytes", Integer.toString(8 << 20));
        config.put("default.replication.factor", "1");
        config.put("min.insync.replicas", "1");
        config.put("group.initial.rebalance.delay.ms", "0");
        config.put("log.segment.bytes", Integer.toString(8 << 20));
        // Index files are preallocated (sparse, memory-mapped) for every partition's active segment.
        config.put("log.index.size.max.bytes", Integer.toString(256 << 10));
        // The log cleaner allocates its dedupe buffer on the heap up front: 128 MB by default.
        config.put("log.cleaner.dedupe.buffer.size", Integer.toString(4 << 20));
        config.put("log.cleaner.io.buffer.size", Integer.toString(128 << 10));
        config.put("num.network.threads", "2");
        config.put("num.io.threads", "2");
        config.put("background.threads", "2");
        config.put("num.recovery.threads.per.data.dir", "1");
        config.put("group.coordinator.threads", "1");
        config.put("share.coordinator.threads", "1");
        return config;
    }

    private final Properties props;
    private final String bootstrap;
    /** The running node; null while {@link #stop() stopped}. */
    private KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, Properties props, String bootstrap) {
        this.server = server;
        this.props = props;
        this.bootstrap = bootstrap;
    }

    /**
     * Formats {@code logDir} and starts the node; returns once the broker is unfenced and serves
     * requests.
     *
     * @param overrides broker settings that win over {@link #defaults()}
     */
    static EmbeddedKafka start(Path logDir, Map<String, String> overrides) throws Exception {
        int nodeId = NODE_IDS.incrementAndGet();
        for (int attempt = 1; ; attempt++) {
            Path dir = logDir.resolve("attempt-" + attempt);
            int brokerPort = LoopbackPorts.free();
            int controllerPort = LoopbackPorts.free();
            Properties props = config(nodeId, dir, brokerPort, controllerPort, overrides);
            format(nodeId, dir);
            KafkaConfig config = KafkaConfig.fromProps(props, false);
            warnAboutUnknown(config, props.stringPropertyNames());
            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            try {
                server.startup();
                return new EmbeddedKafka(server, props, "127.0.0.1:" + brokerPort);
            } catch (Exception e) {
                stopQuietly(server);
                if (attempt >= START_ATTEMPTS || !causedByBind(e)) {
                    throw e;
                }
                LOG.warn("Kafka could not bind port {} or {} (taken meanwhile); retrying on other ports",
                        brokerPort, controllerPort);
            }
        }
    }

    String bootstrapServers() {
        return bootstrap;
    }

    /**
     * Stops the node (a controlled shutdown, as in a rolling restart), keeping its ports and log
     * directory for {@link #start()}. Clients keep retrying meanwhile.
     */
    synchronized void stop() {
        if (server != null) {
            KafkaRaftServer running = server;
            server = null;
            running.shutdown();
            running.awaitShutdown();
        }
    }

    /** Starts the node again on the same ports and log directory (no format), after {@link #stop()}. */
    synchronized void start() {
        if (closed) {
            throw new IllegalStateException("Kafka is closed");
        }
        if (server == null) {
            KafkaRaftServer restarted = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            try {
                restarted.startup();
            } catch (RuntimeException e) {
                stopQuietly(restarted);
                throw e;
            }
            server = restarted;
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        stop();
    }

    private static Properties config(int nodeId, Path dir, int brokerPort, int controllerPort,
                                     Map<String, String> overrides) {
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", Integer.toString(nodeId));
        props.put("controller.quorum.voters", nodeId + "@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + "," + CONTROLLER_LISTENER + "://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        props.put("controller.listener.names", CONTROLLER_LISTENER);
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", dir.toString());
        props.putAll(defaults());
        props.putAll(overrides);
        return props;
    }

    private static void format(int nodeId, Path dir) throws Exception {
        Files.createDirectories(dir);
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(nodeId)
                .setClusterId(Uuid.randomUuid().toString())
                .addDirectory(dir.toString())
                .setMetadataLogDirectory(dir.toString())
                .setControllerListenerName(CONTROLLER_LISTENER)
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .run();
    }

    /** A misspelt or retired setting would otherwise be ignored silently. */
    private static void warnAboutUnknown(KafkaConfig config, Set<String> keys) {
        for (String key : keys) {
            if (!config.values().containsKey(key)) {
                LOG.warn("Kafka broker setting '{}' is unknown to this broker version and has no effect", key);
            }
        }
    }

    private static boolean causedByBind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException
                    || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }

    private static void stopQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.debug("ignoring a failure to stop a broker that did not start", e);
        }
    }
}
