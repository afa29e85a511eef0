package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.ExportId;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StoredFile;

import java.io.IOException;
import java.io.InputStream;
import java.sql.SQLException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The export directory as the finalizer fills it: every file that goes into the manifest and the
 * tarball, with its size, sha256 and tarball part. The assembler's own files are written in one
 * pass with their part ({@link PackedFile}), unsynced: a finalizing that dies is redone whole,
 * and the tarball itself is published durably.
 */
final class ExportOutput {
    /**
     * Entry modification time of every tar entry: output depends only on the database and the
     * plan, which carry no time, so every entry says the epoch; Zulip's importer ignores it.
     */
    static final long ENTRY_MTIME = 0L;

    /** A listed file: its size and sha256, and the tarball part that holds it. */
    record Listed(StoredFile.Written file, String part) {
    }

    private final String exportId;
    private final ExportStore store;
    private final int gzipLevel;
    /** relative path to size, sha256 and part: the manifest, minus manifest.json itself. */
    private final SortedMap<String, Listed> files = new TreeMap<>();

    ExportOutput(String exportId, ExportStore store, int gzipLevel) {
        this.exportId = exportId;
        this.store = store;
        this.gzipLevel = gzipLevel;
    }

    String exportId() {
        return exportId;
    }

    ExportStore store() {
        return store;
    }

    /** {@code zulip-export-<id>}: the tarball's one top-level directory. */
    String topDirectory() {
        return ExportId.directoryName(exportId);
    }

    String entryName(String relativePath) {
        return topDirectory() + "/" + relativePath;
    }

    /** A file a worker wrote, as its task reported it: listed, its part is the worker's. */
    void workerFile(String relativePath, StoredFile.Written file) {
        files.put(relativePath, new Listed(file, TarGzPart.partName(relativePath)));
    }

    /** Copies a file into the export (its bytes and its part in one pass) and lists it. */
    StoredFile.Written copy(InputStream in, String relativePath) throws IOException {
        try (PackedFile file = PackedFile.create(store, relativePath, TarGzPart.partName(relativePath), gzipLevel,
                false)) {
            in.transferTo(file.stream());
            return list(relativePath, file.commit(), TarGzPart.partName(relativePath));
        }
    }

    SortedMap<String, Listed> files() {
        return files;
    }

    /** Writes a JSON file of the export (compact, with a final newline, like the workers) and lists it. */
    StoredFile.Written writeJson(String relativePath, JsonBody body)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        return writeJson(relativePath, TarGzPart.partName(relativePath), body);
    }

    /**
     * As {@link #writeJson(String, JsonBody)}, with the part under another name: for a file that
     * replaces a worker's, whose part must stay as the worker wrote it (finalizing again reads it).
     */
    StoredFile.Written writeJson(String relativePath, String part, JsonBody body)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        try (PackedFile file = PackedFile.create(store, relativePath, part, gzipLevel, false)) {
            try (JsonGenerator g = JsonCounting.generator(file.stream())) {
                body.write(g);
            }
            file.stream().write('\n');
            return list(relativePath, file.commit(), part);
        }
    }

    private StoredFile.Written list(String relativePath, StoredFile.Written written, String part) {
        files.put(relativePath, new Listed(written, part));
        return written;
    }

    interface JsonBody {
        void write(JsonGenerator g) throws IOException, SQLException, ExportAnomaly, InterruptedException;
    }
}
