package org.realmexport.assembler;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.metrics.ExportMeters;

import java.time.Duration;

/**
 * The assembler's meters: exports finalized and failed, and the time finalizing takes
 * (Prometheus: {@code realm_export_assembler_exports_finalized_total},
 * {@code realm_export_assembler_exports_failed_total},
 * {@code realm_export_assembler_finalize_seconds}).
 */
final class AssemblerMetrics {
    private final Counter finalized;
    private final Counter failed;
    private final Timer finalizeTime;
    private final ExportMeters shared;

    AssemblerMetrics(ExportMeters shared) {
        this.shared = shared;
        MeterRegistry registry = shared.registry();
        this.finalized = Counter.builder("realm.export.assembler.exports.finalized")
                .description("Exports packed into a tarball and marked SUCCEEDED").register(registry);
        this.failed = Counter.builder("realm.export.assembler.exports.failed")
                .description("Exports marked FAILED by the assembler (a failed task or an anomaly found while finalizing)")
                .register(registry);
        this.finalizeTime = Timer.builder("realm.export.assembler.finalize")
                .description("Time to finalize one export: attachments, uploads, manifest, tarball")
                .register(registry);
    }

    void exportFinalized(Duration took) {
        finalized.increment();
        finalizeTime.record(took);
        shared.exportState(ExportState.SUCCEEDED);
    }

    void exportFailed() {
        failed.increment();
        shared.exportState(ExportState.FAILED);
    }

    void finalizeTook(Duration took) {
        finalizeTime.record(took);
    }

    double finalizedCount() {
        return finalized.count();
    }

    double failedCount() {
        return failed.count();
    }
}
