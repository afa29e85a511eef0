package org.realmexport.common.storage.local;

import org.realmexport.common.storage.StorePaths;
import org.realmexport.common.storage.UploadObject;
import org.realmexport.common.storage.UploadSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Zulip's {@code LOCAL_UPLOADS_DIR}: uploads under {@code files/}, the rest under {@code avatars/}. */
public final class LocalUploadSource implements UploadSource {
    private final Path dir;

    public LocalUploadSource(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    private Path root(Category category) {
        return dir.resolve(category == Category.UPLOADS ? "files" : "avatars");
    }

    @Override
    public List<UploadObject> list(Category category, long realmId) throws IOException {
        Path root = root(category);
        Path start = root.resolve(category.prefix(realmId));
        List<UploadObject> objects = new ArrayList<>();
        if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
            return objects;
        }
        try (Stream<Path> files = Files.walk(start)) { // symbolic links are not followed
            for (Path f : (Iterable<Path>) files::iterator) {
                BasicFileAttributes attrs = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!attrs.isRegularFile()) {
                    continue;
                }
                String key = root.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
                if (!category.holds(key)) {
                    continue;
                }
                objects.add(new UploadObject(category, null, StorePaths.check(key), attrs.size(),
                        attrs.lastModifiedTime().toInstant(), null, null, Map.of()));
            }
        }
        objects.sort(Comparator.comparing(UploadObject::key));
        return objects;
    }

    @Override
    public InputStream open(UploadObject object) throws IOException {
        Path f = root(object.category()).resolve(StorePaths.check(object.key()));
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(f + ": not a regular file");
        }
        return Files.newInputStream(f);
    }

    @Override
    public void close() {
    }
}
