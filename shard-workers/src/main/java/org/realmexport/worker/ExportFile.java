package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.Json;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.AtomicFile;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One export file being written by a task: an {@link AtomicFile} (sha256 and size computed while
 * written, synced and renamed into place on {@link #publish()}, so a reader or a retried task never
 * sees half a file) plus its tar.gz part. Closing an unpublished file deletes the temp file.
 */
final class ExportFile implements Closeable {
    private final Path exportDir;
    private final String relativePath;
    private final AtomicFile file;
    private JsonGenerator json;

    private ExportFile(Path exportDir, String relativePath) throws IOException {
        this.exportDir = exportDir;
        this.relativePath = relativePath;
        Path target = exportDir.resolve(relativePath).normalize();
        if (!target.startsWith(exportDir)) {
            throw new IOException("refusing to write outside the export directory: " + relativePath);
        }
        // synced: the task's result, committed next, promises the file is there
        this.file = AtomicFile.create(target, true);
    }

    static ExportFile create(Path exportDir, String relativePath) throws IOException {
        return new ExportFile(exportDir.toAbsolutePath().normalize(), relativePath);
    }

    /** A streaming JSON generator on the file (compact, one trailing newline on publish). */
    JsonGenerator json() throws IOException {
        if (json == null) {
            json = Json.FACTORY.createGenerator(file.stream());
            json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        }
        return json;
    }

    /** Finishes the file, moves it into place and writes its tar.gz part. */
    TaskResult.FileInfo publish() throws IOException {
        if (json != null) {
            json.flush();
            file.stream().write('\n');
        }
        AtomicFile.Written written = file.commit();
        TarGzParts.write(exportDir, relativePath, exportDir.resolve(relativePath));
        return new TaskResult.FileInfo(written.size(), written.sha256());
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
