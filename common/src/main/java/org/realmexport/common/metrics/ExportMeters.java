package org.realmexport.common.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.realmexport.common.event.ExportState;

import java.time.Duration;

/**
 * The meters every service shares, tagged with the service's name. In Prometheus:
 * <ul>
 *   <li>{@code realm_export_exports_total{service,state}}: statuses this service posted, by state
 *       (the producer's PLANNED and FAILED, the assembler's SUCCEEDED and FAILED);</li>
 *   <li>{@code realm_export_tasks_total{service,kind,outcome}}: tasks done (ok or failed);</li>
 *   <li>{@code realm_export_rows_written_total} and {@code realm_export_written_bytes_total};</li>
 *   <li>{@code realm_export_task_seconds{kind}}: a histogram of task durations.</li>
 * </ul>
 */
public final class ExportMeters {
    private final MeterRegistry registry;
    private final String service;

    public ExportMeters(MeterRegistry registry, String service) {
        this.registry = registry;
        this.service = service;
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** This service posted a status of {@code state}. */
    public void exportState(ExportState state) {
        Counter.builder("realm.export.exports").description("Export statuses posted by this service, by state")
                .tag("service", service).tag("state", state.name()).register(registry).increment();
    }

    /** A task ended (its result committed): how long it took, rows and bytes it wrote. */
    public void taskDone(String kind, boolean ok, Duration took, long rows, long bytes) {
        Counter.builder("realm.export.tasks").description("Tasks done, by kind and outcome")
                .tag("service", service).tag("kind", kind).tag("outcome", ok ? "ok" : "failed")
                .register(registry).increment();
        Timer.builder("realm.export.task").description("Time one task takes, from taking it to its commit")
                .tag("service", service).tag("kind", kind).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10)).maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry).record(took);
        Counter.builder("realm.export.rows.written").description("Database rows written into export files")
                .tag("service", service).register(registry).increment(rows);
        Counter.builder("realm.export.written").baseUnit("bytes").description("Bytes of export files written")
                .tag("service", service).register(registry).increment(bytes);
    }
}
