package org.realmexport.common.storage;

import java.util.Objects;

/** The one rule for paths inside an export directory, for every store. */
public final class StorePaths {
    private StorePaths() {
    }

    /**
     * @return {@code path}, a relative path with '/' separators
     * @throws IllegalArgumentException for absolute paths, '\', NUL, empty, '.' or '..' segments
     */
    public static String check(String path) {
        Objects.requireNonNull(path, "path");
        if (path.isEmpty() || path.startsWith("/") || path.indexOf('\0') >= 0 || path.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("not a relative path with '/' separators: '" + path + "'");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("empty, '.' or '..' segment in path: '" + path + "'");
            }
        }
        return path;
    }
}
