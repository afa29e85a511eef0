package org.realmexport.common.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.SortedMap;

/**
 * The directory of one export, wherever it is kept: a local directory or an S3 prefix. Every
 * reader and writer of export files goes through it; nothing else touches paths or buckets.
 * One is opened per export by the factory of this package, which alone knows the backends.
 *
 * <p>Paths are relative to the export directory, with '/' separators ({@code messages-000001.json},
 * {@code .parts/uploads%2F2%2Fab%2Fx.png.tgz}); absolute paths and '.', '..' or empty segments are
 * refused ({@link StorePaths#check}).
 *
 * <p>The tarball is the export directory's sibling: {@code <dir>.tar.gz} next to {@code <dir>/}.
 */
public interface ExportStore extends Closeable {

    /** The export directory: {@code file:///exports/zulip-export-<id>} or {@code s3://bucket/prefix/zulip-export-<id>}. */
    URI location();

    /**
     * Whether the export directory holds each file itself besides its tarball part. A local
     * directory does (operators look into it, {@code verify} reads it); an S3 prefix keeps the
     * parts and the tarball only, so every byte is uploaded once.
     */
    boolean keepsPlainFiles();

    /**
     * A new file at {@code path}, written through {@link StoredFile#stream()} and published whole
     * on {@link StoredFile#commit()} (replacing any earlier one), or discarded on close without
     * commit. Readers never see a half-written file.
     *
     * @param durable whether the bytes must survive a crash of the machine once committed (a file
     *                whose task result is committed next); {@code false} for files that are
     *                rewritten anyway when the step is redone
     */
    StoredFile create(String path, boolean durable) throws IOException;

    /**
     * Makes published files durable, as if each had been created {@code durable}: for a task
     * that publishes many small files (a copy batch), one sync of them all after the last costs
     * less than one per file while the machine writes other files too. A no-op where every
     * published file is durable anyway (S3).
     */
    void sync(Collection<String> paths) throws IOException;

    /** Reads a published file; {@link java.nio.file.NoSuchFileException} when there is none. */
    InputStream open(String path) throws IOException;

    /** Published files whose path starts with {@code prefix} ("" for all), path to size, sorted by path. */
    SortedMap<String, Long> list(String prefix) throws IOException;

    /**
     * Writes the tarball, {@code <dir>.tar.gz}, as the concatenation of {@code pieces} in order,
     * published whole or not at all, and returns its location, size and sha256. Stored pieces are
     * taken from the export directory as they are (local: one read and one write per byte; S3:
     * server-side copies where the parts are large enough), never held whole in memory.
     *
     * @throws java.nio.file.NoSuchFileException when a stored piece is missing
     */
    Assembled assemble(List<Piece> pieces) throws IOException;

    /** One piece of a tarball: bytes of a stored file, or a few bytes given inline (tar headers). */
    sealed interface Piece permits Stored, Inline {
        long size();
    }

    /** A published file of this store, of the size {@link #list} gave. */
    record Stored(String path, long size) implements Piece {
        public Stored {
            StorePaths.check(path);
        }
    }

    /** Small bytes written into the tarball as they are. */
    record Inline(byte[] bytes) implements Piece {
        public long size() {
            return bytes.length;
        }
    }

    /** The assembled tarball. */
    record Assembled(URI location, long size, String sha256) {
        public Assembled {
            Objects.requireNonNull(location, "location");
            Objects.requireNonNull(sha256, "sha256");
        }
    }
}
