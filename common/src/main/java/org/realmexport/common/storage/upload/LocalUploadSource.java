package org.realmexport.common.storage.upload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Zulip's {@code LOCAL_UPLOADS_DIR}: {@code files/<path_id>} and {@code avatars/<key>}. Symbolic
 * links are never followed, so nothing outside the directory is read.
 */
final class LocalUploadSource implements UploadSource {
    private final Path root;

    LocalUploadSource(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    private Path areaDir(Area area) {
        return root.resolve(area == Area.UPLOADS ? "files" : "avatars");
    }

    @Override
    public SortedMap<String, UploadObject> list(Area area, String prefix) throws IOException {
        Path base = areaDir(area);
        // walk only the directory the prefix names ("2/" -> avatars/2), then filter by the whole prefix
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? base : base.resolve(prefix.substring(0, slash));
        SortedMap<String, UploadObject> objects = new TreeMap<>();
        if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
            return objects;
        }
        try (Stream<Path> walk = Files.walk(start)) {
            walk.forEach(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (!a.isRegularFile()) {
                        return;
                    }
                    String key = base.relativize(p).toString().replace('\\', '/');
                    if (key.startsWith(prefix)) {
                        objects.put(key, new UploadObject(key, a.size(), a.lastModifiedTime().toInstant(), null));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return objects;
    }

    @Override
    public Download open(Area area, String key) throws IOException {
        Path file = areaDir(area).resolve(key).normalize();
        if (!file.startsWith(areaDir(area))) {
            throw new NoSuchFileException(key, null, "outside the uploads directory");
        }
        return new Download(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS), null, Map.of());
    }

    @Override
    public boolean isS3() {
        return false;
    }

    @Override
    public String where(Area area) {
        return areaDir(area).toString();
    }

    @Override
    public void close() {
    }
}
