package org.realmexport.worker;

import org.realmexport.common.archive.TarGzPart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tar.gz part of each export file ({@code <exportDir>/.parts/<path with / as %2F>.tgz}, one
 * gzip member holding the file's tar entry under {@code zulip-export-<id>/}), which the assembler
 * concatenates into the tarball.
 */
final class TarGzParts {
    /**
     * Entry modification time. Output must depend only on the database and the task, and a task
     * carries no time, so every entry says the epoch; Zulip's importer ignores it.
     */
    static final long ENTRY_MTIME = 0L;

    private TarGzParts() {
    }

    static void write(Path exportDir, String relativePath, Path file) throws IOException {
        Path part = TarGzPart.partPath(exportDir, relativePath);
        Files.createDirectories(part.getParent());
        TarGzPart.writePart(file, exportDir.getFileName() + "/" + relativePath, part, ENTRY_MTIME);
    }
}
