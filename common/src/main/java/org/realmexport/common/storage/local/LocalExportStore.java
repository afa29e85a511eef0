package org.realmexport.common.storage.local;

import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StorePaths;
import org.realmexport.common.storage.StoredFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collection;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * An export directory on a local (or shared) file system. Files appear by rename
 * ({@link AtomicFile}); the tarball is written next to the directory.
 */
public final class LocalExportStore implements ExportStore {
    private static final int COPY_BUFFER = 1 << 20;

    private final Path root;

    public LocalExportStore(Path exportDirectory) {
        this.root = exportDirectory.toAbsolutePath().normalize();
    }

    /** The export directory itself, for tools that read it as a directory ({@code verify}). */
    public Path directory() {
        return root;
    }

    @Override
    public URI location() {
        String uri = root.toUri().toString();
        return URI.create(uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri);
    }

    @Override
    public boolean keepsPlainFiles() {
        return true;
    }

    @Override
    public StoredFile create(String path, boolean durable) throws IOException {
        return AtomicFile.create(resolve(path), durable);
    }

    @Override
    public void sync(Collection<String> paths) throws IOException {
        for (String path : paths) {
            try (FileChannel channel = FileChannel.open(resolve(path), StandardOpenOption.READ)) {
                channel.force(true);
            }
        }
    }

    @Override
    public InputStream open(String path) throws IOException {
        Path file = resolve(path);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(file.toString(), null, "not in the export directory");
        }
        return Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public SortedMap<String, Long> list(String prefix) throws IOException {
        SortedMap<String, Long> files = new TreeMap<>();
        // walk only the prefix's directory: listing the parts need not visit every copied upload
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : resolve(prefix.substring(0, slash));
        if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
            return files;
        }
        try (Stream<Path> walk = Files.walk(start)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isRegularFile() || AtomicFile.isTemporary(p.getFileName().toString())) {
                    continue;
                }
                String rel = root.relativize(p).toString().replace('\\', '/');
                if (rel.startsWith(prefix)) {
                    files.put(rel, a.size());
                }
            }
        }
        return files;
    }

    @Override
    public Assembled assemble(List<Piece> pieces) throws IOException {
        Path tarball = root.resolveSibling(root.getFileName() + ".tar.gz");
        StoredFile.Written written;
        try (AtomicFile file = AtomicFile.create(tarball, true)) {
            OutputStream out = file.stream();
            byte[] buffer = new byte[COPY_BUFFER];
            for (Piece piece : pieces) {
                if (piece instanceof Inline inline) {
                    out.write(inline.bytes());
                } else if (piece instanceof Stored stored) {
                    long copied = 0;
                    try (InputStream in = open(stored.path())) {
                        for (int n; (n = in.read(buffer)) > 0; ) {
                            out.write(buffer, 0, n);
                            copied += n;
                        }
                    }
                    if (copied != stored.size()) {
                        throw new IOException(stored.path() + " holds " + copied + " bytes, not the " + stored.size()
                                + " listed: it changed while the tarball was assembled");
                    }
                }
            }
            written = file.commit();
        }
        return new Assembled(tarball.toUri(), written.size(), written.sha256());
    }

    @Override
    public void close() {
        // nothing held
    }

    private Path resolve(String path) {
        Path file = root.resolve(StorePaths.check(path)).normalize();
        if (!file.startsWith(root)) {
            throw new IllegalArgumentException("outside the export directory: " + path);
        }
        return file;
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
