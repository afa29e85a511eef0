package org.realmexport.common.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A file being written into an {@link ExportStore}: its size and sha256 are computed while it is
 * written; it appears whole on {@link #commit()} or not at all (closing it uncommitted discards it).
 */
public interface StoredFile extends Closeable {

    /** Size and lowercase hex sha256 of a written file. */
    record Written(long size, String sha256) {
    }

    /** The stream to write to; do not close it (commit or close this instead). */
    OutputStream stream();

    /** Publishes the file; returns what was written. */
    Written commit() throws IOException;

    /** Discards the file unless it was committed. */
    @Override
    void close() throws IOException;
}
