package org.realmexport.assembler;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.realmexport.common.ExportType;
import org.realmexport.common.Manifest;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.storage.AtomicFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The last steps of finalizing: stats.json, manifest.json, and the tarball concatenated from the
 * tar.gz parts in entry-name order.
 */
final class ExportPacker {
    static final String STATS = "stats.json";
    static final String MANIFEST = "manifest.json";
    private static final Logger LOG = LoggerFactory.getLogger(ExportPacker.class);
    /** Parts of the tarball that belong to no file; '%' alone never comes out of TarGzPart.partPath. */
    private static final String DIRECTORY_PART = "%directory.tgz";
    private static final String END_PART = "%end-of-archive.tgz";

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
        SortedMap<String, AtomicFile.Written> files = new TreeMap<>(out.files());
        out.writeJson(MANIFEST, g -> {
            g.writeStartObject();
            g.writeStringField(Manifest.TYPE, type.cliName());
            if (consentingUsers != null) {
                g.writeArrayFieldStart(Manifest.CONSENTING_USERS);
                for (long id : consentingUsers) {
                    g.writeNumber(id);
                }
                g.writeEndArray();
            }
            g.writeObjectFieldStart("files");
            for (Map.Entry<String, AtomicFile.Written> f : files.entrySet()) {
                g.writeObjectFieldStart(f.getKey());
                g.writeStringField("sha256", f.getValue().sha256());
                g.writeNumberField("size", f.getValue().size());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** The entry time of a worker's part, so that the assembler's entries carry the same one. */
    static long entryMtime(Path part) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(part));
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry entry = tar.getNextEntry();
            if (entry == null) {
                throw new IOException(part + " holds no tar entry");
            }
            return entry.getLastModifiedTime().toMillis() / 1000;
        }
    }

    /**
     * Concatenates the parts of every listed file (and of manifest.json) in entry-name order, after
     * the top-level directory entry and before the end-of-archive member, into the tarball.
     * A worker's part that is missing or holds another entry fails the export.
     */
    static TarGzPart.Tarball pack(ExportOutput out, Path tarball) throws IOException, ExportAnomaly {
        SortedMap<String, Path> parts = new TreeMap<>();
        List<String> relativePaths = new ArrayList<>(out.files().keySet());
        for (String rel : relativePaths) {
            Path part = out.partOf(rel);
            if (!Files.isRegularFile(part)) {
                throw new ExportAnomaly("the tarball part of " + rel + " is missing ("
                        + out.dir().relativize(part) + "); the task that wrote the file did not write its part");
            }
            String entry = TarGzPart.readEntryName(part);
            if (!entry.equals(out.entryName(rel))) {
                throw new ExportAnomaly("the tarball part of " + rel + " holds the entry '" + entry
                        + "' instead of '" + out.entryName(rel) + "'");
            }
            parts.put(entry, part);
        }
        Path partsDir = out.dir().resolve(TarGzPart.PARTS_DIRECTORY);
        Path directory = partsDir.resolve(DIRECTORY_PART);
        TarGzPart.writeDirectoryPart(out.topDirectory() + "/", directory, out.partMtime());
        Path end = partsDir.resolve(END_PART);
        TarGzPart.writeEndOfArchive(end);
        List<Path> ordered = new ArrayList<>();
        ordered.add(directory);
        ordered.addAll(parts.values());
        ordered.add(end);
        return TarGzPart.concatenate(ordered, tarball);
    }

    /** Files in the export directory that no manifest lists (left-overs): logged, never packed. */
    static void warnAboutStrays(ExportOutput out) throws IOException {
        List<String> strays = new ArrayList<>();
        Path partsDir = out.dir().resolve(TarGzPart.PARTS_DIRECTORY);
        try (Stream<Path> walk = Files.walk(out.dir())) {
            walk.filter(p -> !p.startsWith(partsDir) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .map(p -> out.dir().relativize(p).toString().replace('\\', '/'))
                    .filter(rel -> !rel.equals(MANIFEST) && !out.files().containsKey(rel))
                    .sorted()
                    .forEach(strays::add);
        }
        if (!strays.isEmpty()) {
            LOG.warn("export {}: {} files in {} are not part of the export (not in the manifest nor the tarball): {}",
                    out.exportId(), strays.size(), out.dir(), strays.size() > 10 ? strays.subList(0, 10) + " ..." : strays);
        }
    }
}
