package org.realmexport.assembler;

import org.realmexport.common.ExportType;
import org.realmexport.common.Manifest;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.storage.ExportStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The last steps of finalizing: stats.json, manifest.json, and the tarball concatenated from the
 * tar.gz parts in entry-name order.
 */
final class ExportPacker {
    static final String STATS = "stats.json";
    static final String MANIFEST = "manifest.json";
    private static final Logger LOG = LoggerFactory.getLogger(ExportPacker.class);

    private ExportPacker() {
    }

    /** The stats.json key listing the tables exported without ({@code tables.skip}); absent when none. */
    static final String SKIPPED_TABLES = "skipped_tables";

    /**
     * stats.json as Zulip writes it: {@code {file stem: {table: rows}}} for every JSON file with
     * tables, sorted by file name, then the number of records of each file category, then the
     * referenced files that were missing (only when the operator allowed them), then, when the
     * operator let the export go without tables this build does not know ({@code tables.skip}),
     * {@code "skipped_tables": [names]}, so that whoever imports it learns what is missing.
     */
    static void writeStats(ExportOutput out, SortedMap<String, Map<String, Long>> tables, Map<String, Long> records,
                           MissingFiles missing, List<String> skippedTables)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        out.writeJson(STATS, g -> {
            g.writeStartObject();
            for (Map.Entry<String, Map<String, Long>> file : tables.entrySet()) {
                g.writeObjectFieldStart(file.getKey());
                for (Map.Entry<String, Long> t : new TreeMap<>(file.getValue()).entrySet()) {
                    g.writeNumberField(t.getKey(), t.getValue());
                }
                g.writeEndObject();
            }
            for (Map.Entry<String, Long> r : records.entrySet()) {
                g.writeNumberField(r.getKey() + "_records", r.getValue());
            }
            missing.writeStats(g);
            if (skippedTables != null && !skippedTables.isEmpty()) {
                g.writeArrayFieldStart(SKIPPED_TABLES);
                for (String t : skippedTables) {
                    g.writeString(t);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        });
    }

    /** manifest.json: {@code {"files": {path: {"sha256", "size"}}}} for every other file, sorted. */
    static void writeManifest(ExportOutput out, ExportType type, List<Long> consentingUsers)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        writeManifest(out, type.cliName(), null, consentingUsers, null);
    }

    /**
     * manifest.json of an export of {@code type} ({@link ExportType#cliName()}, or
     * {@link org.realmexport.common.db.UserScope#TYPE} with the realm and user of a single-user export,
     * and the files it was allowed to go without, if any).
     */
    static void writeManifest(ExportOutput out, String type, long[] realmAndUser, List<Long> consentingUsers,
                              MissingFiles missing)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        SortedMap<String, ExportOutput.Listed> files = new TreeMap<>(out.files());
        out.writeJson(MANIFEST, g -> {
            g.writeStartObject();
            g.writeStringField(Manifest.TYPE, type);
            if (realmAndUser != null) {
                g.writeNumberField(Manifest.REALM, realmAndUser[0]);
                g.writeNumberField(Manifest.USER, realmAndUser[1]);
            }
            if (missing != null && !missing.isEmpty()) {
                missing.writeStats(g); // a single-user export has no stats.json
            }
            if (consentingUsers != null) {
                g.writeArrayFieldStart(Manifest.CONSENTING_USERS);
                for (long id : consentingUsers) {
                    g.writeNumber(id);
                }
                g.writeEndArray();
            }
            g.writeObjectFieldStart("files");
            for (Map.Entry<String, ExportOutput.Listed> f : files.entrySet()) {
                g.writeObjectFieldStart(f.getKey());
                g.writeStringField("sha256", f.getValue().file().sha256());
                g.writeNumberField("size", f.getValue().file().size());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /**
     * Assembles the tarball: the top-level directory entry, then per listed file (manifest.json
     * included) in entry-name order its tar header, made here from its name and reported size, and
     * its part as its writer left it, then the end-of-archive member. A missing part fails the export.
     */
    static ExportStore.Assembled pack(ExportOutput out) throws IOException, ExportAnomaly {
        SortedMap<String, Long> parts = out.store().list(TarGzPart.PARTS_DIRECTORY + "/");
        List<ExportStore.Piece> pieces = new ArrayList<>();
        pieces.add(new ExportStore.Inline(TarGzPart.directory(out.topDirectory() + "/", ExportOutput.ENTRY_MTIME)));
        for (Map.Entry<String, ExportOutput.Listed> f : out.files().entrySet()) {
            String rel = f.getKey();
            Long partSize = parts.get(f.getValue().part());
            if (partSize == null) {
                throw new ExportAnomaly("the tarball part of " + rel + " is missing (" + f.getValue().part()
                        + "); the task that wrote the file did not write its part");
            }
            pieces.add(new ExportStore.Inline(TarGzPart.header(out.entryName(rel), f.getValue().file().size(),
                    ExportOutput.ENTRY_MTIME)));
            pieces.add(new ExportStore.Stored(f.getValue().part(), partSize));
        }
        pieces.add(new ExportStore.Inline(TarGzPart.endOfArchive()));
        return out.store().assemble(pieces);
    }

    /**
     * Files in the export directory that no manifest lists (left-overs, the uploads of attachments
     * whose exported messages went away after their batch copied them): logged, never packed. The
     * parts and the copy batches' reports are not files of the export.
     */
    static void warnAboutStrays(ExportOutput out) throws IOException {
        List<String> strays = new ArrayList<>();
        for (String rel : out.store().list("").keySet()) {
            if (!rel.startsWith(TarGzPart.PARTS_DIRECTORY + "/") && !rel.startsWith(FileCopyReport.DIRECTORY + "/")
                    && !rel.equals(MANIFEST)
                    && !out.files().containsKey(rel)) {
                strays.add(rel);
            }
        }
        if (!strays.isEmpty()) {
            LOG.warn("export {}: {} files in {} are not part of the export (not in the manifest nor the tarball): {}",
                    out.exportId(), strays.size(), out.store().location(),
                    strays.size() > 10 ? strays.subList(0, 10) + " ..." : strays);
        }
    }
}
