package org.realmexport.assembler;

import org.realmexport.common.Json;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.StoredFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The files the copy batches copied, merged: each category's {@code records.json} (entries sorted
 * by path, as Zulip writes them), the copied files listed for the manifest and the tarball as their
 * batch reported them (not read back), and the missing ones gathered in {@link MissingFiles}.
 *
 * <p>Uploads are kept only for the attachments attachment.json keeps (a batch copies those an
 * exportable message used when it ran; some may since have lost their exported messages). An
 * attachment kept but copied by no batch was linked to an exported message after its batch ran:
 * its file counts as missing, with that cause.
 */
final class CopiedFiles {
    /** The categories, in the order their records are counted in stats.json and their missing files listed. */
    static final List<String> CATEGORIES = List.of("avatars", "uploads", "emoji", "realm_icons");

    private final Map<String, SortedMap<String, FileCopyReport.Copied>> copied = new LinkedHashMap<>();
    private final Map<String, List<FileCopyReport.Missing>> missing = new LinkedHashMap<>();
    private final Set<String> causes = new java.util.LinkedHashSet<>();

    CopiedFiles() {
        for (String category : CATEGORIES) {
            copied.put(category, new TreeMap<>());
            missing.put(category, new java.util.ArrayList<>());
        }
    }

    /** Reads the reports of the batches, in batch order, checking each against its task's result. */
    static CopiedFiles read(ExportOutput out, List<ResultSummary.CopyBatch> batches)
            throws IOException, ExportAnomaly, InterruptedException {
        CopiedFiles files = new CopiedFiles();
        for (ResultSummary.CopyBatch batch : batches) {
            ExportFinalizer.checkInterrupted();
            byte[] bytes;
            try (InputStream in = out.store().open(batch.report())) {
                bytes = in.readAllBytes();
            } catch (NoSuchFileException e) {
                throw new ExportAnomaly(batch.report() + " is missing from " + out.store().location()
                        + " (task " + batch.taskId() + " reported it)");
            }
            MessageDigest sha = Sha256.digest();
            String sha256 = java.util.HexFormat.of().formatHex(sha.digest(bytes));
            if (bytes.length != batch.info().size() || !sha256.equalsIgnoreCase(batch.info().sha256())) {
                throw new ExportAnomaly(batch.report() + " does not match what task " + batch.taskId()
                        + " reported: it changed after the task wrote it");
            }
            FileCopyReport report;
            try {
                report = Json.fromBytes(bytes, FileCopyReport.class);
                report.checkVersion();
            } catch (RuntimeException e) {
                throw new ExportAnomaly(batch.report() + " of task " + batch.taskId() + " is unreadable: "
                        + e.getMessage());
            }
            files.add(batch.kind().category(), batch.taskId(), report);
        }
        return files;
    }

    /** Adds one batch's report (batches in order: the missing files keep it). */
    void add(String category, String taskId, FileCopyReport report) throws ExportAnomaly {
        SortedMap<String, FileCopyReport.Copied> into = copied.get(category);
        if (into == null) {
            throw new ExportAnomaly("task " + taskId + " copies files of the unknown category " + category);
        }
        for (FileCopyReport.Copied file : nonNull(report.copied())) {
            String path = SafePaths.relative(file.path(), "file '" + file.path() + "' copied by task " + taskId);
            if (!path.startsWith(category + "/") || file.sha256() == null || file.record() == null) {
                throw new ExportAnomaly("task " + taskId + " reports " + path + " without its sha256 or record,"
                        + " or outside " + category + "/");
            }
            if (into.put(path, file) != null) {
                throw new ExportAnomaly(path + " is copied by two batches (the second: task " + taskId + ")");
            }
        }
        missing.get(category).addAll(nonNull(report.missing()));
        causes.addAll(nonNull(report.causes()));
    }

    /**
     * Lists the kept files, writes the four records.json files and adds the missing files that
     * count to {@code missingFiles}.
     *
     * @param attachments the attachments attachment.json holds: their uploads are kept
     * @return records per category, in {@link #CATEGORIES} order
     */
    Map<String, Long> write(ExportOutput out, List<AttachmentExporter.Exported> attachments, MissingFiles missingFiles)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        Map<Long, String> kept = new LinkedHashMap<>();
        attachments.forEach(a -> kept.put(a.id(), a.pathId()));
        Set<Long> seen = new HashSet<>();
        copied.get("uploads").values().removeIf(f -> {
            seen.add(f.attachmentId());
            return !kept.containsKey(f.attachmentId());
        });
        missing.get("uploads").removeIf(m -> {
            seen.add(m.ownerId());
            return !kept.containsKey(m.ownerId());
        });
        kept.forEach((id, pathId) -> {
            if (!seen.contains(id)) {
                missing.get("uploads").add(new FileCopyReport.Missing("uploads", "files/" + pathId, "attachment_id",
                        id, "attachment " + id + ", used by an exported message only since its batch was copied"));
                causes.add("attachments were added to exported messages while the export ran: request it again");
            }
        });
        return writeRecords(out, CATEGORIES, missingFiles);
    }

    /**
     * As {@link #write}, for a single-user export: every file its batches copied is kept (they
     * copied only the user's own), and there are no realm icons.
     */
    Map<String, Long> writeUserFiles(ExportOutput out, MissingFiles missingFiles)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        if (!copied.get("realm_icons").isEmpty()) {
            throw new ExportAnomaly("a single-user export copied realm icons");
        }
        return writeRecords(out, List.of("avatars", "uploads", "emoji"), missingFiles);
    }

    /** Lists the files of {@code categories}, writes their records.json, and adds their missing files to {@code missingFiles}. */
    private Map<String, Long> writeRecords(ExportOutput out, List<String> categories, MissingFiles missingFiles)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        causes.forEach(missingFiles::cause);
        Map<String, Long> counts = new LinkedHashMap<>();
        for (String category : categories) {
            missing.get(category).forEach(missingFiles::add);
            SortedMap<String, FileCopyReport.Copied> files = copied.get(category);
            for (FileCopyReport.Copied f : files.values()) {
                out.workerFile(f.path(), new StoredFile.Written(f.size(), f.sha256()));
            }
            out.writeJson(category + "/records.json", g -> {
                g.writeStartArray();
                for (FileCopyReport.Copied f : files.values()) {
                    g.writeRawValue(f.record());
                }
                g.writeEndArray();
            });
            counts.put(category, (long) files.size());
        }
        return counts;
    }

    private static <T> List<T> nonNull(List<T> list) {
        return list == null ? List.of() : list;
    }
}
