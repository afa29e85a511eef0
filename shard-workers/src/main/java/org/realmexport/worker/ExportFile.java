package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.Json;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StoredFile;

import java.io.Closeable;
import java.io.IOException;

/**
 * One export file being written by a task, in one pass into the export store: the JSON goes
 * through the sha256 into the file and its tarball part at once ({@link PackedFile}), both
 * published on {@link #publish()} (durably: the task's result, committed next, promises them), so
 * a reader or a retried task never sees half a file. Closing an unpublished file discards it.
 */
final class ExportFile implements Closeable {
    private final PackedFile file;
    private JsonGenerator json;

    private ExportFile(PackedFile file) {
        this.file = file;
    }

    static ExportFile create(ExportStore store, String relativePath) throws IOException {
        return create(store, relativePath, true);
    }

    /**
     * @param durable false when the caller makes the file durable itself before the task's result
     *                is committed ({@link PackedFile#paths}, {@link FileSyncer})
     */
    static ExportFile create(ExportStore store, String relativePath, boolean durable) throws IOException {
        return new ExportFile(PackedFile.create(store, relativePath, TarGzPart.DEFAULT_LEVEL, durable));
    }

    /** A streaming JSON generator on the file (compact, one trailing newline on publish). */
    JsonGenerator json() throws IOException {
        if (json == null) {
            json = Json.FACTORY.createGenerator(file.stream());
            json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        }
        return json;
    }

    /** Finishes the file and publishes it with its tarball part. */
    TaskResult.FileInfo publish() throws IOException {
        if (json != null) {
            json.flush();
            file.stream().write('\n');
        }
        StoredFile.Written written = file.commit();
        return new TaskResult.FileInfo(written.size(), written.sha256());
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
