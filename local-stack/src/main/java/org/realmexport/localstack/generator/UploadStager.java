package org.realmexport.localstack.generator;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes upload files (attachments, avatars, emoji, realm icons) into a staging directory inside
 * the uploads directory, and moves them into place only when the database load has succeeded, so a
 * failed run leaves no files behind. Paths are relative to Zulip's LOCAL_UPLOADS_DIR
 * ({@code files/<path_id>}, {@code avatars/...}).
 */
final class UploadStager implements AutoCloseable {
    private final Path uploadsDir;
    private final Path staging;
    private final List<String> staged = new ArrayList<>();
    private final List<Path> published = new ArrayList<>();
    private final List<Path> createdDirs = new ArrayList<>();
    private final byte[] chunk = new byte[64 << 10];
    private long bytes;

    UploadStager(Path uploadsDir) throws IOException {
        this.uploadsDir = uploadsDir.toAbsolutePath().normalize();
        Files.createDirectories(this.uploadsDir);
        this.staging = Files.createTempDirectory(this.uploadsDir, ".realm-generator-");
    }

    Path uploadsDir() {
        return uploadsDir;
    }

    long files() {
        return staged.size();
    }

    long bytes() {
        return bytes;
    }

    void write(String relative, byte[] data, long mtimeMicros) throws IOException {
        Path target = stagedPath(relative);
        Files.write(target, data);
        finish(relative, target, data.length, mtimeMicros);
    }

    /** A file of exactly {@code size} pseudo-random bytes from {@code rng}. */
    void write(String relative, int size, Rng rng, long mtimeMicros) throws IOException {
        Path target = stagedPath(relative);
        try (OutputStream out = Files.newOutputStream(target)) {
            int left = size;
            while (left > 0) {
                int n = Math.min(left, chunk.length);
                rng.fill(chunk, 0, n);
                out.write(chunk, 0, n);
                left -= n;
            }
        }
        finish(relative, target, size, mtimeMicros);
    }

    private Path stagedPath(String relative) throws IOException {
        Path target = staging.resolve(relative).normalize();
        if (relative.contains("..") || !target.startsWith(staging)) {
            throw new IOException("refusing upload path outside the uploads directory: " + relative);
        }
        Files.createDirectories(target.getParent());
        return target;
    }

    private void finish(String relative, Path target, long size, long mtimeMicros) throws IOException {
        Files.setLastModifiedTime(target, FileTime.from(PgTime.instant(mtimeMicros)));
        staged.add(relative);
        bytes += size;
    }

    /** Moves every staged file to its place; refuses to overwrite. */
    void publish() throws IOException {
        for (String relative : staged) {
            Path from = staging.resolve(relative);
            Path to = uploadsDir.resolve(relative);
            if (Files.exists(to)) {
                throw new FileAlreadyExistsException(to.toString(), null, "an upload file is already there");
            }
            createParents(to);
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            published.add(to);
        }
    }

    private void createParents(Path file) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path dir = file.getParent(); dir != null && !Files.exists(dir); dir = dir.getParent()) {
            missing.add(dir);
        }
        for (int i = missing.size() - 1; i >= 0; i--) {
            Files.createDirectory(missing.get(i));
            createdDirs.add(missing.get(i));
        }
    }

    /** Removes the files {@link #publish()} moved into place, and the directories it created. */
    void unpublish() {
        for (Path p : published) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: the caller reports the original failure
            }
        }
        for (int i = createdDirs.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(createdDirs.get(i));
            } catch (IOException ignored) {
                // not empty or gone: leave it
            }
        }
        published.clear();
        createdDirs.clear();
    }

    @Override
    public void close() {
        if (!Files.exists(staging)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(staging)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort
        }
    }
}
