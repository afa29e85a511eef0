package org.realmexport.common.archive;

import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StoredFile;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.List;

/**
 * One export file written in one pass: every byte goes through the sha256 and into the file's
 * tarball part (its gzip member) and, where the store keeps one, into the plain file, at once.
 * Nothing is written and then read back to be compressed. Both appear on {@link #commit()} (the
 * part first), or neither when closed uncommitted.
 */
public final class PackedFile implements Closeable {
    private final StoredFile plain;
    private final StoredFile part;
    private final TarGzPart.PartStream data;
    private final MessageDigest digest;
    private final OutputStream out;
    private boolean committed;

    private PackedFile(ExportStore store, String relativePath, String partPath, int level, boolean durable)
            throws IOException {
        this.part = store.create(partPath, durable);
        StoredFile plainFile = null;
        try {
            this.data = TarGzPart.partStream(part.stream(), level);
            plainFile = store.keepsPlainFiles() ? store.create(relativePath, durable) : null;
        } catch (IOException | RuntimeException e) {
            part.close();
            throw e;
        }
        this.plain = plainFile;
        this.digest = plain == null ? Sha256.digest() : null;
        this.out = new Tee();
    }

    /**
     * @param relativePath the file's path in the export directory ({@code messages-000001.json})
     * @param level        gzip level of the part ({@link TarGzPart#DEFAULT_LEVEL})
     * @param durable      see {@link ExportStore#create}
     */
    public static PackedFile create(ExportStore store, String relativePath, int level, boolean durable)
            throws IOException {
        return new PackedFile(store, relativePath, TarGzPart.partName(relativePath), level, durable);
    }

    /**
     * As {@link #create(ExportStore, String, int, boolean)} with the part at {@code partPath}
     * instead of {@link TarGzPart#partName}: for a file that replaces another's whose part must stay.
     */
    public static PackedFile create(ExportStore store, String relativePath, String partPath, int level,
                                    boolean durable) throws IOException {
        return new PackedFile(store, relativePath, partPath, level, durable);
    }

    /**
     * The store paths a file at {@code relativePath} publishes: its part, and the plain file where
     * the store keeps one (what {@link ExportStore#sync} takes for a file created not durable).
     */
    public static List<String> paths(ExportStore store, String relativePath) {
        return store.keepsPlainFiles() ? List.of(TarGzPart.partName(relativePath), relativePath)
                : List.of(TarGzPart.partName(relativePath));
    }

    /** The stream to write the file's bytes to; do not close it (commit or close this instead). */
    public OutputStream stream() {
        return out;
    }

    /** Publishes the part, then the plain file; returns the file's size and sha256. */
    public StoredFile.Written commit() throws IOException {
        data.finish();
        part.commit();
        StoredFile.Written written = plain != null ? plain.commit()
                : new StoredFile.Written(data.size(), Sha256.hex(digest));
        committed = true;
        return written;
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            try {
                part.close();
            } finally {
                if (plain != null) {
                    plain.close();
                }
            }
        }
    }

    /**
     * Reads an export file: the plain file where the store keeps one, else out of its part.
     *
     * @param size the file's size as its writer reported it
     */
    public static InputStream open(ExportStore store, String relativePath, long size) throws IOException {
        if (store.keepsPlainFiles()) {
            return store.open(relativePath);
        }
        return TarGzPart.readData(store.open(TarGzPart.partName(relativePath)), size);
    }

    private final class Tee extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            data.write(b, off, len);
            if (plain != null) {
                plain.stream().write(b, off, len);
            } else {
                digest.update(b, off, len);
            }
        }
    }
}
