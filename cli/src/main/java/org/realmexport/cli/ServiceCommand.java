package org.realmexport.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.metrics.MetricsEndpoint;
import picocli.CommandLine.Option;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;

/**
 * A long-running service (producer, shard worker, assembler): resolves its config, starts it,
 * runs until Ctrl-C or SIGTERM, closes it and exits 0.
 */
abstract class ServiceCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    DatabaseOptions database;

    @Mixin
    S3Options s3;

    @Mixin
    ConfigOptions config;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics on http://0.0.0.0:PORT/metrics (0 picks a free port; default: none).")
    Integer metricsPort;

    /** Adds the service's own options to the settings, under the service's config keys. */
    void putServiceOptions(Map<String, Object> settings) {
    }

    /** A started service: closing it stops it; {@code alive} turns false if it dies on its own. */
    record Running(AutoCloseable service, BooleanSupplier alive) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            service.close();
        }
    }

    /**
     * Constructs and starts the service; its meters go to {@code registry} (served on
     * --metrics-port), or, when null, where {@code metrics.port} of its settings says.
     */
    abstract Running start(Map<String, Object> settings, MeterRegistry registry) throws Exception;

    /** The service's settings: environment, config file, --set, options (see {@link Settings}). */
    Map<String, Object> settings() {
        Map<String, Object> settings = Settings.resolve(root.environment(), config, kafka, database, s3);
        putServiceOptions(settings);
        Settings.putIfSet(settings, RealmExportConfig.METRICS_PORT, metricsPort);
        new RealmExportConfig(RealmExportConfig.baseConfigDef(), settings); // bad shared keys: exit 2 now
        return settings;
    }

    @Override
    public Integer call() throws Exception {
        Map<String, Object> settings = settings();
        String name = spec.name();
        StopSignal stop = root.newStopSignal();
        // one registry for every component of this process (the producer and its watcher), one endpoint
        int port = new RealmExportConfig(RealmExportConfig.baseConfigDef(), settings).getInt(RealmExportConfig.METRICS_PORT);
        PrometheusMeterRegistry registry = port >= 0 ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : null;
        try (MetricsEndpoint endpoint = registry == null ? null : MetricsEndpoint.start(registry, port)) {
            if (endpoint != null) {
                spec.commandLine().getOut().printf("%s metrics on http://0.0.0.0:%d/metrics%n", name, endpoint.port());
            }
            try (Running service = start(settings, registry)) {
                spec.commandLine().getOut().printf("%s running (Kafka %s, topics %s.*); stop it with Ctrl-C or SIGTERM%n",
                        name, settings.getOrDefault(RealmExportConfig.BOOTSTRAP_SERVERS, "localhost:9092"),
                        settings.getOrDefault(RealmExportConfig.TOPIC_PREFIX, "realm-export"));
                spec.commandLine().getOut().flush();
                while (!stop.await(1_000)) {
                    if (!service.alive().getAsBoolean()) {
                        spec.commandLine().getErr().println(name + ": stopped on its own (see the log above)");
                        return RealmExportCommand.FAILED;
                    }
                }
                spec.commandLine().getErr().println(name + ": stopping...");
            }
            spec.commandLine().getErr().println(name + ": stopped");
            return RealmExportCommand.OK;
        } finally {
            stop.closed();
        }
    }
}
