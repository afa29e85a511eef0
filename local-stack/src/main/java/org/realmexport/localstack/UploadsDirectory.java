package org.realmexport.localstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * An empty Zulip {@code LOCAL_UPLOADS_DIR}. Zulip's installer creates it with two children and
 * everything below them appears on demand (zerver/lib/upload/local.py):
 * <ul>
 *   <li>{@code files/<path_id>}: message attachments, {@code path_id} =
 *       {@code <realm_id>/<2 hex>/<random>/<file name>}; thumbnails under {@code files/thumbnail/};</li>
 *   <li>{@code avatars/}: user avatars ({@code <realm_id>/<hash>.png}, {@code .original},
 *       {@code -medium.png}), realm icons and logos ({@code <realm_id>/realm/icon.png} ...), custom
 *       emoji ({@code <realm_id>/emoji/images/...}) and exported tarballs ({@code exports/}).</li>
 * </ul>
 */
final class UploadsDirectory {
    static final List<String> CHILDREN = List.of("files", "avatars");

    private UploadsDirectory() {
    }

    static Path create(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String child : CHILDREN) {
            Files.createDirectories(dir.resolve(child));
        }
        return dir;
    }
}
