package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.ExportId;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.storage.AtomicFile;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The export directory as the finalizer fills it: every file that goes into the manifest and the
 * tarball, with its size and sha256, and the tar.gz part of each file the assembler writes
 * (written right after the file, while it is in the page cache).
 */
final class ExportOutput {
    private final String exportId;
    private final Path dir;
    private final int gzipLevel;
    private final long partMtime;
    /** relative path to size and sha256: the manifest, minus manifest.json itself. */
    private final SortedMap<String, AtomicFile.Written> files = new TreeMap<>();

    ExportOutput(String exportId, Path dir, int gzipLevel, long partMtime) {
        this.exportId = exportId;
        this.dir = dir;
        this.gzipLevel = gzipLevel;
        this.partMtime = partMtime;
    }

    String exportId() {
        return exportId;
    }

    Path dir() {
        return dir;
    }

    /** {@code zulip-export-<id>}: the tarball's one top-level directory. */
    String topDirectory() {
        return ExportId.directoryName(exportId);
    }

    String entryName(String relativePath) {
        return topDirectory() + "/" + relativePath;
    }

    Path path(String relativePath) {
        return dir.resolve(relativePath);
    }

    Path partOf(String relativePath) {
        return TarGzPart.partPath(dir, relativePath);
    }

    long partMtime() {
        return partMtime;
    }

    int gzipLevel() {
        return gzipLevel;
    }

    /** A file a worker wrote and the finalizer verified: listed, its part is the worker's. */
    void workerFile(String relativePath, AtomicFile.Written file) {
        files.put(relativePath, file);
    }

    /** A file the finalizer wrote: listed, and its part written now. */
    void ownFile(String relativePath, AtomicFile.Written file) throws IOException {
        files.put(relativePath, file);
        writePart(relativePath);
    }

    void writePart(String relativePath) throws IOException {
        // unsynced: a finalizer that dies redoes every part; the tarball itself is synced
        TarGzPart.writePart(path(relativePath), entryName(relativePath), partOf(relativePath), partMtime, gzipLevel,
                false);
    }

    SortedMap<String, AtomicFile.Written> files() {
        return files;
    }

    /** Writes a small JSON file of the export atomically (compact, with a final newline, like the workers). */
    AtomicFile.Written writeJson(String relativePath, JsonBody body)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        try (AtomicFile file = AtomicFile.create(path(relativePath), true)) {
            try (JsonGenerator g = JsonCounting.generator(file.stream())) {
                body.write(g);
            }
            file.stream().write('\n');
            AtomicFile.Written written = file.commit();
            ownFile(relativePath, written);
            return written;
        }
    }

    interface JsonBody {
        void write(JsonGenerator g) throws IOException, SQLException, ExportAnomaly, InterruptedException;
    }
}
