package org.realmexport.assembler;

import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.db.UserScope;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Finalizes a single-user export (Zulip's export_single_user): takes the workers' user.json and
 * message files as their tasks reported them, writes the records.json of the user's uploads,
 * avatar and emoji that the copy batches copied ({@link CopiedFiles}), manifest.json (naming the
 * realm and the user, and the files exported without when {@code uploads.allow.missing} let it),
 * and packs the tarball as for a realm export. There is no realm.json, attachment.json nor
 * stats.json: Zulip's single-user export has none, and no importer reads it.
 */
final class UserExportFinalizer {
    private static final Logger LOG = LoggerFactory.getLogger(UserExportFinalizer.class);

    private final int gzipLevel;
    private final boolean allowMissingFiles;
    private final FinalizerHooks hooks;

    UserExportFinalizer(int gzipLevel, boolean allowMissingFiles, FinalizerHooks hooks) {
        this.gzipLevel = gzipLevel;
        this.allowMissingFiles = allowMissingFiles;
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

        long copying = System.nanoTime();
        MissingFiles missing = new MissingFiles();
        CopiedFiles.read(out, summary.copies).writeUserFiles(out, missing);
        missing.check(allowMissingFiles);
        if (!missing.isEmpty()) {
            LOG.warn("export {}: {}; exported without them ({}=true), all listed under {} in manifest.json",
                    status.exportId(), missing.summary(), RealmExportConfig.UPLOADS_ALLOW_MISSING, MissingFiles.STATS_KEY);
        }
        steps.put("records", (System.nanoTime() - copying) / 1_000_000);

        ExportPacker.writeManifest(out, UserScope.TYPE, new long[] {status.realmId(), status.userId()}, null, missing);
        ExportPacker.warnAboutStrays(out);
        hooks.beforeTarball(status.exportId());
        long packing = System.nanoTime();
        ExportStore.Assembled tarball = ExportPacker.pack(out);
        steps.put("tarball", (System.nanoTime() - packing) / 1_000_000);
        return new ExportFinalizer.Finalized(ExportStores.display(tarball.location()), tarball.sha256(), tarball.size(),
                rows, steps);
    }
}
