package org.realmexport.worker;

import com.fasterxml.jackson.core.JsonGenerator;
import org.realmexport.common.Json;
import org.realmexport.common.event.TaskResult;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * One export file being written: bytes go to a hidden temp file beside the target while their
 * sha256 and size are computed; {@link #publish()} syncs it and renames it into place atomically,
 * so a reader (or a retried task) never sees half a file. Closing an unpublished file deletes the
 * temp file.
 */
final class ExportFile implements Closeable {
    private final Path exportDir;
    private final String relativePath;
    private final Path target;
    private final Path temp;
    private final MessageDigest sha256;
    private final CountingOutputStream out;
    private JsonGenerator json;
    private boolean published;

    private ExportFile(Path exportDir, String relativePath) throws IOException {
        this.exportDir = exportDir;
        this.relativePath = relativePath;
        this.target = exportDir.resolve(relativePath).normalize();
        if (!target.startsWith(exportDir)) {
            throw new IOException("refusing to write outside the export directory: " + relativePath);
        }
        Files.createDirectories(target.getParent());
        this.temp = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        this.out = new CountingOutputStream(new BufferedOutputStream(
                Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), 1 << 16), sha256);
    }

    static ExportFile create(Path exportDir, String relativePath) throws IOException {
        return new ExportFile(exportDir.toAbsolutePath().normalize(), relativePath);
    }

    /** A streaming JSON generator on the file (compact, one trailing newline on publish). */
    JsonGenerator json() throws IOException {
        if (json == null) {
            json = Json.FACTORY.createGenerator(out);
            json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        }
        return json;
    }

    String relativePath() {
        return relativePath;
    }

    Path target() {
        return target;
    }

    /** Finishes the file, moves it into place and writes its tar.gz part. */
    TaskResult.FileInfo publish() throws IOException {
        if (json != null) {
            json.flush();
            out.write('\n');
        }
        out.flush();
        out.close();
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        published = true;
        TarGzParts.write(exportDir, relativePath, target);
        return new TaskResult.FileInfo(out.count, HexFormat.of().formatHex(sha256.digest()));
    }

    @Override
    public void close() throws IOException {
        if (!published) {
            try {
                out.close();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Counts and digests what passes through. */
    private static final class CountingOutputStream extends FilterOutputStream {
        private final MessageDigest digest;
        private long count;
        private boolean closed;

        CountingOutputStream(OutputStream out, MessageDigest digest) {
            super(out);
            this.digest = digest;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            digest.update((byte) b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            digest.update(b, off, len);
            count += len;
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                super.close();
            }
        }
    }
}
