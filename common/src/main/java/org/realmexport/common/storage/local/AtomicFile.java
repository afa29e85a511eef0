package org.realmexport.common.storage.local;

import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.StoredFile;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.UUID;

/**
 * A file that appears whole or not at all: written to a hidden temporary file beside the target,
 * digested (sha256) and counted while written, then renamed over the target. A reader never sees
 * half a file, and a writer that dies leaves at most a hidden temporary file that no one lists.
 * The files of a {@link LocalExportStore}.
 */
public final class AtomicFile implements StoredFile {

    private static final java.util.regex.Pattern TEMPORARY =
            java.util.regex.Pattern.compile("^\\..*\\.tmp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final MessageDigest digest;
    private final boolean sync;
    private final OutputStream out;
    private long size;
    private boolean committed;

    private AtomicFile(Path target, boolean sync) throws IOException {
        this.target = target;
        this.sync = sync;
        Files.createDirectories(target.toAbsolutePath().getParent());
        this.temp = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        this.channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        this.digest = Sha256.digest();
        OutputStream raw = Channels.newOutputStream(channel);
        this.out = new BufferedOutputStream(new FilterOutputStream(raw) {
            @Override
            public void write(int b) throws IOException {
                raw.write(b);
                digest.update((byte) b);
                size++;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                raw.write(b, off, len);
                digest.update(b, off, len);
                size += len;
            }

            @Override
            public void close() {
                // the channel is closed by commit() / close()
            }
        }, 1 << 16);
    }

    /** A temporary file of a writer mid-way (or one that died): never listed. */
    public static boolean isTemporary(String fileName) {
        return TEMPORARY.matcher(fileName).matches();
    }

    /**
     * @param sync force the bytes to disk before the rename: for the files whose loss after a
     *             crash would go unnoticed (JSON, the tarball); a copied upload that vanishes is
     *             simply copied again by the next finalizing
     */
    public static AtomicFile create(Path target, boolean sync) throws IOException {
        return new AtomicFile(target, sync);
    }

    @Override
    public OutputStream stream() {
        return out;
    }

    /** Flushes, forces (when asked), renames over the target; returns what was written. */
    @Override
    public Written commit() throws IOException {
        out.flush();
        if (sync) {
            channel.force(true);
        }
        channel.close();
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        committed = true;
        return new Written(size, Sha256.hex(digest));
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            channel.close();
            Files.deleteIfExists(temp);
        }
    }

}
