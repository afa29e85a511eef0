package org.realmexport.assembler;

import org.realmexport.common.db.UserScope;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;

import java.io.IOException;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Finalizes a single-user export (Zulip's export_single_user): takes the workers' user.json and
 * message files as their tasks reported them, writes manifest.json (naming the realm and the user)
 * and packs the tarball as for a realm export. There is no realm.json, attachment.json nor
 * stats.json: Zulip's single-user export has none, and no importer reads it.
 */
final class UserExportFinalizer {
    private final int gzipLevel;
    private final FinalizerHooks hooks;

    UserExportFinalizer(int gzipLevel, FinalizerHooks hooks) {
        this.gzipLevel = gzipLevel;
        this.hooks = hooks;
    }

    ExportFinalizer.Finalized finalizeExport(ExportStatus status, ExportFinalizer.TaskResults results, ExportStore store)
            throws ExportAnomaly, IOException, SQLException, InterruptedException {
        if (status.userId() == null) {
            throw new ExportAnomaly("the plan of this single-user export names no user");
        }
        Map<String, Long> steps = new LinkedHashMap<>();
        long started = System.nanoTime();
        ResultSummary summary = new ResultSummary();
        results.forEach(summary::add);
        summary.seal(status.tasksPlanned(), true);

        ExportOutput out = new ExportOutput(status.exportId(), store, gzipLevel);
        SortedMap<String, Map<String, Long>> tables = new TreeMap<>();
        ExportFinalizer.takeMessageFiles(out, summary, tables, new ReferenceCheck());
        ExportFinalizer.verifyOtherWorkerFiles(out, summary, tables);
        Map<String, Long> rows = new TreeMap<>(summary.rows);
        steps.put("worker files", (System.nanoTime() - started) / 1_000_000);

        ExportPacker.writeManifest(out, UserScope.TYPE, new long[] {status.realmId(), status.userId()}, null);
        ExportPacker.warnAboutStrays(out);
        hooks.beforeTarball(status.exportId());
        long packing = System.nanoTime();
        ExportStore.Assembled tarball = ExportPacker.pack(out);
        steps.put("tarball", (System.nanoTime() - packing) / 1_000_000);
        return new ExportFinalizer.Finalized(ExportStores.display(tarball.location()), tarball.sha256(), tarball.size(),
                rows, steps);
    }
}
