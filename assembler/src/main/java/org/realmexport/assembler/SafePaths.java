package org.realmexport.assembler;

/**
 * Paths read from the database (attachment path_id, emoji file names) end up joined to the
 * uploads directory and to the export directory, so one with {@code ..} or an absolute one could
 * read or write outside them. Such a path fails the export, naming it.
 */
final class SafePaths {
    private SafePaths() {
    }

    /**
     * @param path a relative path with '/' separators
     * @param what what it is, for the message: {@code "path_id of attachment 17"}
     * @return {@code path}
     */
    static String relative(String path, String what) throws ExportAnomaly {
        if (path == null || path.isEmpty()) {
            throw new ExportAnomaly(what + " is empty");
        }
        if (!isSafe(path)) {
            throw new ExportAnomaly(what + " is the unsafe path '" + printable(path)
                    + "' (absolute, or with '..', '.', '\\' or an empty segment); refusing to read or write it");
        }
        return path;
    }

    /** A single file name: a safe relative path without '/'. */
    static String fileName(String name, String what) throws ExportAnomaly {
        relative(name, what);
        if (name.indexOf('/') >= 0) {
            throw new ExportAnomaly(what + " is the unsafe file name '" + printable(name) + "' (contains '/')");
        }
        return name;
    }

    static boolean isSafe(String path) {
        if (path.startsWith("/") || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0
                || path.matches("^[A-Za-z]:.*")) {
            return false;
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static String printable(String s) {
        return s.replace("\0", "\\0");
    }
}
