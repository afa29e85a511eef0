package org.realmexport.common.verify;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Checks a finished export, a directory {@code zulip-export-<id>/} or its {@code .tar.gz}, for
 * what Zulip's importer requires and for the export's own integrity: required files and keys,
 * message files numbered from 1 without gaps (any number of messages each: a live database loses
 * some while it is exported), message ids sorted and unique across them, every reference (recipients, subscriptions, messages, usermessages, reactions,
 * attachments) pointing at an exported row, records.json entries with their files and sizes and
 * no path escaping the export, no secrets, stats.json matching the row counts, and manifest.json
 * matching every file.
 *
 * <p>Files are streamed row by row (Jackson's streaming parser); memory holds only id sets.
 * A tarball is first unpacked into a scratch directory which is deleted afterwards: the files
 * of an export point at each other in both directions (messages at users in realm.json,
 * attachment.json at messages, records at files) while a tarball's entries come in name order
 * (attachment.json before the message files, realm.json after them), so a single pass over the
 * tarball would have to hold every reference until the end. Unpacking costs disk the size of
 * the export and keeps one code path for both forms.
 *
 * <pre>{@code
 * ExportVerifier.Report report = new ExportVerifier().verify(Path.of("out/zulip-export-ab12.tar.gz"));
 * report.problems().forEach(System.out::println);   // empty when the export is sound
 * }</pre>
 */
public final class ExportVerifier {
    private final Path workDir;

    /** Unpacks tarballs under the system's temporary directory. */
    public ExportVerifier() {
        this(null);
    }

    /** Unpacks tarballs under {@code workDir} (null: the system's temporary directory). */
    public ExportVerifier(Path workDir) {
        this.workDir = workDir;
    }

    /**
     * What a verification found.
     *
     * @param export       the export's directory or tarball name
     * @param problems     one line per problem ({@code <file>: <what is wrong>}); empty when sound
     * @param realmId      the exported realm's id (null when realm.json could not tell)
     * @param users        exported users (zerver_userprofile and mirror dummies)
     * @param streams      exported streams
     * @param messages     messages in all message files
     * @param messageFiles message files
     * @param userMessages usermessage rows
     * @param attachments  zerver_attachment rows
     * @param files        files in the export
     * @param bytes        their total size
     */
    public record Report(String export, List<String> problems, Long realmId, int users, int streams,
                         long messages, int messageFiles, long userMessages, long attachments,
                         int files, long bytes) {
        public Report {
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return problems.isEmpty();
        }

        /** One line: the verdict and what was checked. */
        public String summary() {
            return String.format(Locale.ROOT,
                    "%s %s: realm %s, %d users, %d streams, %d messages in %d files, %d usermessages, "
                            + "%d attachments; %d files (%s)",
                    ok() ? "OK" : problems.size() + " problem(s) in", export, realmId == null ? "?" : realmId,
                    users, streams, messages, messageFiles, userMessages, attachments, files, humanBytes(bytes));
        }
    }

    /**
     * Verifies a directory or a {@code .tar.gz}. Problems with the export are in the report;
     * an exception means the path itself could not be read (it does not exist, say).
     */
    public Report verify(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file or directory");
        }
        if (Files.isDirectory(path)) {
            return new ExportCheck(path).run();
        }
        Path scratch = workDir == null ? Files.createTempDirectory("realm-export-verify")
                : Files.createTempDirectory(Files.createDirectories(workDir), "realm-export-verify");
        try {
            Problems tarProblems = new Problems();
            Path dir = TarballExtractor.extract(path, scratch, tarProblems);
            String name = path.getFileName().toString();
            if (dir == null) {
                return new Report(name, tarProblems.lines(), null, 0, 0, 0, 0, 0, 0, 0, 0);
            }
            Report inner = new ExportCheck(dir).run();
            List<String> all = new ArrayList<>(tarProblems.lines());
            all.addAll(inner.problems());
            return new Report(name, all, inner.realmId(), inner.users(), inner.streams(), inner.messages(),
                    inner.messageFiles(), inner.userMessages(), inner.attachments(), inner.files(), inner.bytes());
        } finally {
            deleteTree(scratch);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
