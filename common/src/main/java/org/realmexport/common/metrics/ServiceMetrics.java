package org.realmexport.common.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.topic.ConsumerLag;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A service's meters and where they are served: the registry given to the service (tests pass
 * their own; the command line gives every component of one process the same one), else with
 * {@code metrics.port} >= 0 a Prometheus registry served as {@code /metrics} by a
 * {@link MetricsEndpoint}, else Micrometer's global registry.
 *
 * <p>Also the service's consumer lag, the signal an autoscaler scales on:
 * {@code realm_export_consumer_lag{group,topic}}, records not yet processed by the group, as the
 * Admin API reports them ({@link ConsumerLag}), refreshed every {@link #LAG_REFRESH_SECONDS} s
 * in the background so a scrape never waits for the cluster.
 */
public final class ServiceMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceMetrics.class);
    public static final int LAG_REFRESH_SECONDS = 5;

    private final MeterRegistry registry;
    private final ExportMeters meters;
    private final MetricsEndpoint server;
    private final ScheduledExecutorService lagRefresher;
    private final Admin admin;
    private final Map<String, Long> lag = new ConcurrentHashMap<>();

    private ServiceMetrics(MeterRegistry registry, String service, MetricsEndpoint server, ScheduledExecutorService refresher,
                           Admin admin) {
        this.registry = registry;
        this.meters = new ExportMeters(registry, service);
        this.server = server;
        this.lagRefresher = refresher;
        this.admin = admin;
    }

    /**
     * Opens the metrics of {@code service} (the name of its consumer group under the topic
     * prefix: producer, shard-workers, assembler); {@code given} may be null.
     */
    public static ServiceMetrics open(RealmExportConfig config, MeterRegistry given, String service) {
        int port = config.getInt(RealmExportConfig.METRICS_PORT);
        MeterRegistry registry = given;
        MetricsEndpoint server = null;
        if (registry == null && port >= 0) {
            PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            server = MetricsEndpoint.start(prometheus, port);
            registry = prometheus;
            LOG.info("{} metrics on http://0.0.0.0:{}/metrics", service, server.port());
        } else if (registry == null) {
            registry = Metrics.globalRegistry;
        }
        ScheduledExecutorService refresher = null;
        Admin admin = null;
        if (given != null || port >= 0) { // nobody reads the global registry: spare the cluster
            admin = Admin.create(config.kafkaProperties());
            refresher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, service + "-lag-meter");
                t.setDaemon(true);
                return t;
            });
        }
        ServiceMetrics metrics = new ServiceMetrics(registry, service, server, refresher, admin);
        if (refresher != null) {
            Topics topics = config.topics();
            String group = topics.group(service);
            Properties reader = config.readerProperties(service + "-lag-meter");
            refresher.scheduleWithFixedDelay(() -> metrics.refreshLag(reader, group,
                    ConsumerLag.inputTopics(topics, service)), 0, LAG_REFRESH_SECONDS, TimeUnit.SECONDS);
        }
        return metrics;
    }

    private void refreshLag(Properties reader, String group, java.util.List<String> inputTopics) {
        try {
            ConsumerLag now = ConsumerLag.of(admin, reader, group, inputTopics);
            now.perTopic().forEach((topic, records) -> {
                // another component of this process may have registered the group's gauge already
                if (lag.put(topic, records) == null && registry.find("realm.export.consumer.lag")
                        .tags("group", group, "topic", topic).gauge() == null) {
                    Gauge.builder("realm.export.consumer.lag", lag, m -> m.getOrDefault(topic, 0L))
                            .description("Records of the topic not yet processed by the group (Admin API)")
                            .tag("group", group).tag("topic", topic).register(registry);
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.debug("consumer lag of {} not refreshed", group, e);
        }
    }

    public MeterRegistry registry() {
        return registry;
    }

    public ExportMeters meters() {
        return meters;
    }

    /** The port /metrics is served on, or -1. */
    public int port() {
        return server == null ? -1 : server.port();
    }

    @Override
    public void close() {
        if (lagRefresher != null) {
            lagRefresher.shutdownNow();
            try {
                lagRefresher.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admin != null) {
            admin.close(java.time.Duration.ofSeconds(2));
        }
        if (server != null) {
            server.close();
        }
    }
}
