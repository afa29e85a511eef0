package org.realmexport.common.archive;

import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipEncoding;
import org.apache.commons.compress.archivers.zip.ZipEncodingHelper;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * One file of an export as its own gzip member, so that a .tar.gz is assembled by concatenation.
 *
 * <p>A .tar.gz may be a concatenation of gzip members (RFC 1952; GNU tar, Python's tarfile and
 * commons-compress with concatenated members all read it). Each writer of an export file
 * compresses the tar entry of that file while it is still hot in the page cache, on its own core;
 * the assembler then only concatenates the members in entry-name order and appends
 * {@linkplain #writeEndOfArchive the end-of-archive member}. Compression scales with the workers
 * instead of running on one core at the end.
 *
 * <p>A part holds exactly one tar entry: an optional PAX extended header (for names longer than
 * 100 bytes or not ASCII, and for sizes of 8 GiB or more), the 512-byte ustar header, the data and
 * zero padding to a multiple of 512 bytes. It has no end-of-archive blocks.
 *
 * <p>Output bytes depend only on the content, the entry name, the caller-given modification time
 * and the compression level: mode 0644 (directories 0755), uid/gid 0, empty user and group names,
 * gzip header mtime 0. The file's own mtime is deliberately ignored, so a retried task rewrites a
 * byte-identical part. (The deflate stream itself comes from the platform's zlib: identical on
 * one machine, not guaranteed identical across zlib versions.)
 *
 * <p>Every file this class writes appears atomically: it is written to a hidden temporary file in
 * the same directory and renamed into place.
 */
public final class TarGzPart {
    /**
     * gzip level used when none is given: 1, not zlib's default 6. Compression is the biggest single
     * cost of an export (DESIGN.md, "Where the time goes"); on a 1.2 MB message file level 1 takes
     * about half the time of level 6 for ~17% more bytes (measured: 158 KB vs 135 KB).
     */
    public static final int DEFAULT_LEVEL = 1;
    /** Directory inside an export directory that holds the parts; never in the tarball or the manifest. */
    public static final String PARTS_DIRECTORY = ".parts";
    /**
     * File name suffix of a part. Temporary files in {@code .parts/} (a writer mid-way, or one that
     * died) are named {@code .<uuid>.tmp}: list parts by this suffix.
     */
    public static final String PART_SUFFIX = ".tgz";

    private static final int BLOCK = 512;
    private static final int FILE_MODE = 0100644;
    private static final int DIRECTORY_MODE = 040755;
    /** Largest size the 11 octal digits of a ustar header can hold; larger sizes go in a PAX record. */
    private static final long MAX_USTAR_SIZE = 077777777777L;
    /** Longest part file name we write; file systems allow 255 bytes per name. */
    private static final int MAX_PART_NAME_BYTES = 200;
    private static final int COPY_BUFFER = 256 * 1024;
    private static final ZipEncoding UTF_8 = ZipEncodingHelper.getZipEncoding(StandardCharsets.UTF_8);

    private TarGzPart() {
    }

    /**
     * Sha256 and size of a tarball assembled by {@link #concatenate}.
     *
     * @param path   the tarball
     * @param size   its length in bytes
     * @param sha256 lowercase hex sha256 of its bytes
     */
    public record Tarball(Path path, long size, String sha256) {
        public Tarball {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(sha256, "sha256");
        }
    }

    /** {@link #writePart(Path, String, Path, long, int)} at {@link #DEFAULT_LEVEL}. */
    public static long writePart(Path file, String entryName, Path partFile, long mtimeEpochSeconds)
            throws IOException {
        return writePart(file, entryName, partFile, mtimeEpochSeconds, DEFAULT_LEVEL);
    }

    /**
     * Writes {@code partFile}: one gzip member holding the tar entry of {@code file} under
     * {@code entryName} (e.g. {@code zulip-export-abc/messages-000001.json}).
     *
     * @param mtimeEpochSeconds the entry's modification time; the file's own is ignored so that the
     *                          bytes depend only on the content (pass e.g. the export's start time)
     * @param level             gzip level 0-9 (1 is about three times faster than 6 and ~20% larger)
     * @return the size of the part file in bytes
     * @throws IOException when the file cannot be read or changes size while it is read; no part
     *                     file is left behind then
     */
    public static long writePart(Path file, String entryName, Path partFile, long mtimeEpochSeconds, int level)
            throws IOException {
        return writePart(file, entryName, partFile, mtimeEpochSeconds, level, true);
    }

    /**
     * As {@link #writePart(Path, String, Path, long, int)}; {@code sync = false} skips the fsync of
     * the part, for writers that redo all their parts after a crash anyway (the assembler's
     * finalizer, whose tarball is synced by {@link #concatenate}): one fsync per copied upload
     * was most of the time of a realm with thousands of uploads.
     */
    public static long writePart(Path file, String entryName, Path partFile, long mtimeEpochSeconds, int level,
                                 boolean sync) throws IOException {
        checkEntryName(entryName);
        if (entryName.endsWith("/")) {
            throw new IllegalArgumentException("a file's entry name must not end with '/': " + entryName);
        }
        long size = Files.size(file);
        TarArchiveEntry entry = newEntry(entryName, TarConstants.LF_NORMAL, FILE_MODE, mtimeEpochSeconds);
        entry.setSize(size);
        return writeAtomically(partFile, sync, out -> {
            try (OutputStream gzip = gzip(out, level)) {
                writeHeaders(gzip, entry, entryName, size);
                long copied = 0;
                byte[] buffer = new byte[COPY_BUFFER];
                try (InputStream in = Files.newInputStream(file)) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        if (copied + n > size) {
                            throw new IOException(file + " grew while it was packed into " + partFile);
                        }
                        gzip.write(buffer, 0, n);
                        copied += n;
                    }
                }
                if (copied != size) {
                    throw new IOException(file + " shrank while it was packed into " + partFile);
                }
                pad(gzip, size);
            }
        });
    }

    /**
     * Writes {@code partFile}: one gzip member holding the tar entry of a directory (mode 0755).
     * Not required for extraction (tar creates parent directories), but it makes the top-level
     * directory the first entry, as {@code tar -czf} would.
     *
     * @param entryName the directory's entry name; a trailing '/' is added when missing
     */
    public static long writeDirectoryPart(String entryName, Path partFile, long mtimeEpochSeconds) throws IOException {
        String name = entryName.endsWith("/") ? entryName : entryName + "/";
        checkEntryName(name);
        TarArchiveEntry entry = newEntry(name, TarConstants.LF_DIR, DIRECTORY_MODE, mtimeEpochSeconds);
        return writeAtomically(partFile, true, out -> {
            try (OutputStream gzip = gzip(out, DEFAULT_LEVEL)) {
                writeHeaders(gzip, entry, name, 0);
            }
        });
    }

    /**
     * Writes {@code partFile}: the last member of every tarball, holding the two zero blocks that
     * end a tar archive.
     */
    public static long writeEndOfArchive(Path partFile) throws IOException {
        return writeAtomically(partFile, true, out -> {
            try (OutputStream gzip = gzip(out, DEFAULT_LEVEL)) {
                gzip.write(new byte[2 * BLOCK]);
            }
        });
    }

    /**
     * Concatenates {@code parts} in the given order into {@code tarball} (atomically, temp +
     * rename), computing its sha256 and size in the same pass.
     *
     * <p>The digest needs every byte in user space anyway, so each part is read once into one
     * buffer that is both digested and written: one read and one write per byte, the minimum. (A
     * kernel-side {@code transferTo} would save the write copy but cost a second read for the digest.)
     *
     * @param parts the parts sorted by entry name, the end-of-archive member last
     * @throws IOException when a part is missing or is not a gzip member
     */
    public static Tarball concatenate(List<Path> parts, Path tarball) throws IOException {
        MessageDigest sha256 = sha256();
        long[] size = {0};
        writeAtomically(tarball, true, out -> {
            FileChannel target = (FileChannel) out.channel();
            ByteBuffer buffer = ByteBuffer.allocate(1024 * 1024);
            for (Path part : parts) {
                try (FileChannel source = FileChannel.open(part, StandardOpenOption.READ)) {
                    boolean first = true;
                    while (source.read(buffer) >= 0) {
                        if (buffer.position() == 0) {
                            continue;
                        }
                        buffer.flip();
                        if (first) {
                            requireGzipMagic(part, buffer);
                            first = false;
                        }
                        sha256.update(buffer.array(), 0, buffer.limit());
                        size[0] += buffer.limit();
                        while (buffer.hasRemaining()) {
                            target.write(buffer);
                        }
                        buffer.clear();
                    }
                    if (first) {
                        throw new IOException("part " + part + " is empty");
                    }
                }
            }
        });
        return new Tarball(tarball, size[0], HexFormat.of().formatHex(sha256.digest()));
    }

    /**
     * Where the part of an export file lives: {@code <exportDir>/.parts/<relative path with '/'
     * as %2F>.tgz} ('%' itself becomes %25, so the mapping is one-to-one). Names too long for a
     * file system keep a readable prefix and end in a hash of the full path; read the entry name
     * from the part with {@link #readEntryName} rather than decoding file names.
     *
     * @param relativePath the file's path relative to the export directory, with '/' separators,
     *                     e.g. {@code uploads/2/ab/photo.png}
     * @throws IllegalArgumentException for absolute paths, empty segments, '.' or '..' segments
     */
    public static Path partPath(Path exportDir, String relativePath) {
        checkRelativePath(relativePath);
        String encoded = relativePath.replace("%", "%25").replace("/", "%2F");
        byte[] bytes = encoded.getBytes(StandardCharsets.UTF_8);
        if (bytes.length + PART_SUFFIX.length() > MAX_PART_NAME_BYTES) {
            String hash = HexFormat.of().formatHex(sha256().digest(relativePath.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 32);
            encoded = truncateUtf8(encoded, MAX_PART_NAME_BYTES - PART_SUFFIX.length() - hash.length() - 1)
                    + "~" + hash;
        }
        return exportDir.resolve(PARTS_DIRECTORY).resolve(encoded + PART_SUFFIX);
    }

    /** The entry name stored in a part (reads only its first headers). */
    public static String readEntryName(Path partFile) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(partFile), 8192);
             TarArchiveInputStream tar = new TarArchiveInputStream(in, StandardCharsets.UTF_8.name())) {
            ArchiveEntry entry = tar.getNextEntry();
            if (entry == null) {
                throw new IOException(partFile + " holds no tar entry");
            }
            return entry.getName();
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static TarArchiveEntry newEntry(String name, byte linkFlag, int mode, long mtimeEpochSeconds) {
        if (mtimeEpochSeconds < 0 || mtimeEpochSeconds > 077777777777L) {
            throw new IllegalArgumentException("mtime out of the ustar range: " + mtimeEpochSeconds);
        }
        TarArchiveEntry entry = new TarArchiveEntry(ustarName(name), linkFlag, true);
        entry.setMode(mode);
        entry.setModTime(FileTime.fromMillis(mtimeEpochSeconds * 1000));
        // Fixed owner: the defaults come from the writing process (user.name), which would make
        // the bytes depend on which worker ran the task.
        entry.setUserId(0);
        entry.setGroupId(0);
        entry.setUserName("");
        entry.setGroupName("");
        return entry;
    }

    /** The ustar header's own 100-byte name field; the full name goes in a PAX record when needed. */
    private static String ustarName(String name) {
        return truncateUtf8(name, TarConstants.NAMELEN);
    }

    private static void writeHeaders(OutputStream out, TarArchiveEntry entry, String fullName, long size)
            throws IOException {
        Map<String, String> pax = new LinkedHashMap<>();
        if (!isAscii(fullName) || fullName.getBytes(StandardCharsets.UTF_8).length > TarConstants.NAMELEN) {
            pax.put("path", fullName);
        }
        if (size > MAX_USTAR_SIZE) {
            pax.put("size", Long.toString(size));
        }
        byte[] header = new byte[BLOCK];
        if (!pax.isEmpty()) {
            byte[] records = paxRecords(pax);
            // Named like GNU tar's, with a fixed component instead of the pid so bytes are stable.
            String paxName = truncateUtf8("./PaxHeaders/" + asciiOnly(fullName), TarConstants.NAMELEN);
            TarArchiveEntry paxEntry = new TarArchiveEntry(paxName, TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            paxEntry.setMode(FILE_MODE);
            paxEntry.setModTime(entry.getLastModifiedTime());
            paxEntry.setUserId(0);
            paxEntry.setGroupId(0);
            paxEntry.setUserName("");
            paxEntry.setGroupName("");
            paxEntry.setSize(records.length);
            paxEntry.writeEntryHeader(header, UTF_8, false);
            out.write(header);
            out.write(records);
            pad(out, records.length);
            header = new byte[BLOCK];
        }
        entry.writeEntryHeader(header, UTF_8, false);
        out.write(header);
    }

    /** PAX records: "LEN key=value\n", where LEN counts the whole record including its own digits. */
    private static byte[] paxRecords(Map<String, String> pax) {
        ByteArrayOutputStream records = new ByteArrayOutputStream();
        pax.forEach((key, value) -> {
            int body = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
            int length = body + Integer.toString(body).length();
            if (Integer.toString(length).length() != Integer.toString(body).length()) {
                length = body + Integer.toString(length).length();
            }
            records.writeBytes((length + " " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8));
        });
        return records.toByteArray();
    }

    private static void pad(OutputStream out, long size) throws IOException {
        int remainder = (int) (size % BLOCK);
        if (remainder != 0) {
            out.write(new byte[BLOCK - remainder]);
        }
    }

    private static OutputStream gzip(OutputStream out, int level) throws IOException {
        if (level < Deflater.NO_COMPRESSION || level > Deflater.BEST_COMPRESSION) {
            throw new IllegalArgumentException("gzip level must be 0-9: " + level);
        }
        // GZIPOutputStream writes header mtime 0 and no file name: the member's bytes depend only on its input.
        return new BufferedOutputStream(new GZIPOutputStream(out, COPY_BUFFER) {
            {
                def.setLevel(level);
            }
        }, COPY_BUFFER);
    }

    private static void requireGzipMagic(Path part, ByteBuffer buffer) throws IOException {
        if (buffer.limit() < 2 || (buffer.get(0) & 0xff) != 0x1f || (buffer.get(1) & 0xff) != 0x8b) {
            throw new IOException(part + " is not a gzip member; refusing to put it into a tarball");
        }
    }

    private interface Writer {
        void write(ChannelOutput out) throws IOException;
    }

    /** An OutputStream over a FileChannel that also exposes the channel, for bulk writes. */
    private static final class ChannelOutput extends OutputStream {
        private final FileChannel channel;

        ChannelOutput(FileChannel channel) {
            this.channel = channel;
        }

        FileChannel channel() {
            return channel;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        }

        @Override
        public void close() {
            // the channel is closed by writeAtomically, after force()
        }
    }

    /** Writes {@code target} through a hidden temporary file in the same directory, then renames it. */
    private static long writeAtomically(Path target, boolean sync, Writer writer) throws IOException {
        Path directory = target.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        Path temp = directory.resolve("." + UUID.randomUUID() + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp,
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.write(new ChannelOutput(channel));
                if (sync) {
                    channel.force(false);
                }
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return Files.size(target);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void checkEntryName(String entryName) {
        Objects.requireNonNull(entryName, "entryName");
        checkRelativePath(entryName.endsWith("/") ? entryName.substring(0, entryName.length() - 1) : entryName);
    }

    private static void checkRelativePath(String path) {
        Objects.requireNonNull(path, "relativePath");
        if (path.isEmpty() || path.startsWith("/") || path.indexOf('\0') >= 0 || path.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("not a relative path with '/' separators: '" + path + "'");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("empty, '.' or '..' segment in path: '" + path + "'");
            }
        }
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0x7e || s.charAt(i) < 0x20) {
                return false;
            }
        }
        return true;
    }

    private static String asciiOnly(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c <= 0x7e ? c : '_');
        }
        return b.toString();
    }

    /** The longest prefix of {@code s} whose UTF-8 encoding fits in {@code maxBytes}, never splitting a character. */
    private static String truncateUtf8(String s, int maxBytes) {
        if (s.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return s;
        }
        int bytes = 0;
        int end = 0;
        while (end < s.length()) {
            int cp = s.codePointAt(end);
            int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + len > maxBytes) {
                break;
            }
            bytes += len;
            end += Character.charCount(cp);
        }
        return s.substring(0, end);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
