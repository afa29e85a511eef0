package org.realmexport.common.verify;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Unpacks an export tarball into a scratch directory, refusing what a safe export never holds:
 * more than one top-level directory, absolute names or {@code ..}, links, duplicate entries.
 * The tarball may be a concatenation of gzip members (each worker compresses its own files),
 * so concatenated members are decompressed.
 */
final class TarballExtractor {
    private TarballExtractor() {
    }

    /** Returns the export directory inside {@code into}, or null when nothing usable was found. */
    static Path extract(Path tarball, Path into, Problems problems) {
        String label = tarball.getFileName().toString();
        String topLevel = null;
        Set<String> seen = new HashSet<>();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(tarball), 1 << 16);
             GzipCompressorInputStream gzip = GzipCompressorInputStream.builder()
                     .setInputStream(raw).setDecompressConcatenated(true).get();
             TarArchiveInputStream tar = new TarArchiveInputStream(gzip)) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = entry.getName();
                while (name.startsWith("./")) {
                    name = name.substring(2);
                }
                if (name.isEmpty() || name.equals(".")) {
                    continue;
                }
                if (ExportCheck.unsafePath(name)) {
                    problems.add(label, "unsafe", "entry '" + entry.getName() + "' is absolute or contains '..'");
                    continue;
                }
                if (entry.isSymbolicLink() || entry.isLink()) {
                    problems.add(label, "link", "entry '" + name + "' is a link; an export holds regular files only");
                    continue;
                }
                String stripped = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
                int slash = stripped.indexOf('/');
                String top = slash < 0 ? stripped : stripped.substring(0, slash);
                if (topLevel == null) {
                    topLevel = top;
                    if (!top.startsWith("zulip-export-")) {
                        problems.add(label, "its top-level directory is '" + top + "', not zulip-export-<id>/");
                    }
                } else if (!top.equals(topLevel)) {
                    problems.add(label, "toplevel", "entry '" + name + "' is outside the single top-level directory "
                            + topLevel + "/");
                    continue;
                }
                if (slash < 0 && !entry.isDirectory()) {
                    problems.add(label, "toplevel", "entry '" + name + "' is a file at the top level, outside "
                            + topLevel + "/");
                    continue;
                }
                if (slash >= 0 && (stripped.substring(slash + 1) + "/").startsWith(ExportCheck.PARTS_DIR + "/")) {
                    problems.add(label, "parts", "entry '" + name + "': the workers' .parts/ never belong in the tarball");
                    continue;
                }
                Path target = into.resolve(stripped).normalize();
                if (!target.startsWith(into)) {
                    problems.add(label, "unsafe", "entry '" + name + "' would land outside the export");
                    continue;
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                } else if (entry.isFile()) {
                    if (!seen.add(stripped)) {
                        problems.add(label, "duplicate", "entry '" + name + "' appears twice");
                        continue;
                    }
                    Files.createDirectories(target.getParent());
                    Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    problems.add(label, "type", "entry '" + name + "' is neither a file nor a directory");
                }
            }
        } catch (IOException e) {
            problems.add(label, "is not a readable tar.gz: " + e.getMessage());
            return null;
        }
        if (topLevel == null) {
            problems.add(label, "holds no export");
            return null;
        }
        String expected = expectedTopLevel(label);
        if (expected != null && !expected.equals(topLevel)) {
            problems.add(label, "its top-level directory is " + topLevel + "/, but the tarball's name says "
                    + expected + "/");
        }
        Path dir = into.resolve(topLevel);
        return Files.isDirectory(dir) ? dir : null;
    }

    private static String expectedTopLevel(String fileName) {
        if (fileName.startsWith("zulip-export-") && fileName.endsWith(".tar.gz")) {
            return fileName.substring(0, fileName.length() - ".tar.gz".length());
        }
        return null;
    }
}
