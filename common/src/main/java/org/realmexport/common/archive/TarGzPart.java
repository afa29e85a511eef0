package org.realmexport.common.archive;

import org.realmexport.common.storage.Sha256;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipEncoding;
import org.apache.commons.compress.archivers.zip.ZipEncodingHelper;
import org.realmexport.common.storage.StorePaths;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The tar.gz of an export as a concatenation of gzip members, so that the tarball is assembled by
 * concatenation and compression is spread over the writers of the files.
 *
 * <p>A .tar.gz may be a concatenation of gzip members (RFC 1952; GNU tar, Python's tarfile and
 * commons-compress with concatenated members all read it). Each export file has a <em>part</em>
 * in the export directory ({@link #partName}): one gzip member holding the file's bytes and the
 * zero padding of its tar entry, written in the same pass as the file itself
 * ({@link PackedFile}). The tar header of the entry, which must precede the data but depends on
 * its size, is not in the part: the assembler makes it ({@link #header}) from the entry name and
 * the size the writer reported, a gzip member of its own of a few dozen bytes. The tarball is
 * then {@link #directory} + (header + part per file, in entry-name order) + {@link #endOfArchive}.
 *
 * <p>Bytes depend only on the content, the entry name, the given modification time and the
 * compression level: mode 0644 (directories 0755), uid/gid 0, empty user and group names, gzip
 * header mtime 0. (The deflate stream itself comes from the platform's zlib: identical on one
 * machine, not guaranteed identical across zlib versions.) An entry carries a PAX extended header
 * for names longer than 100 bytes or not ASCII, and for sizes of 8 GiB or more.
 */
public final class TarGzPart {
    /**
     * gzip level used when none is given: 1, not zlib's default 6. Compression is the biggest single
     * cost of an export; on a 1.2 MB message file level 1 takes about half the time of level 6 for
     * ~17% more bytes (measured: 158 KB vs 135 KB).
     */
    public static final int DEFAULT_LEVEL = 1;
    /**
     * Bytes after which a part checks what deflate gained: when its first 64 KiB came out above 90%
     * of their size (photos, videos, archives, PDFs: most of a realm's uploads by bytes), the rest
     * is stored, not compressed. Deflate at level 1 on incompressible data runs at ~33 MB/s on this
     * project's reference machine (a stored copy with its CRC: ~5 GB/s) for 0.02% fewer bytes.
     */
    static final int PROBE_BYTES = 64 * 1024;
    /**
     * Bytes a part's first write is sniffed on before anything is compressed: when their byte
     * values are spread as in compressed or encrypted data ({@link #STORED_BITS_PER_BYTE} or more
     * bits of entropy a byte; text and JSON have ~5, base64 6), the whole file is stored. This
     * catches the many small uploads the probe never reaches.
     */
    static final int SNIFF_BYTES = 4096;
    static final double STORED_BITS_PER_BYTE = 7.5;
    /** Directory inside an export directory that holds the parts; never in the tarball or the manifest. */
    public static final String PARTS_DIRECTORY = ".parts";
    /** File name suffix of a part. */
    public static final String PART_SUFFIX = ".tgz";

    private static final int BLOCK = 512;
    private static final int FILE_MODE = 0100644;
    private static final int DIRECTORY_MODE = 040755;
    /** Largest size the 11 octal digits of a ustar header can hold; larger sizes go in a PAX record. */
    private static final long MAX_USTAR_SIZE = 077777777777L;
    /** Longest part file name we write; file systems allow 255 bytes per name. */
    private static final int MAX_PART_NAME_BYTES = 200;
    private static final int BUFFER = 64 * 1024;
    private static final ZipEncoding UTF_8 = ZipEncodingHelper.getZipEncoding(StandardCharsets.UTF_8);

    private TarGzPart() {
    }

    /**
     * Where the part of an export file lives: {@code .parts/<relative path with '/' as %2F>.tgz}
     * ('%' itself becomes %25, so the mapping is one-to-one). Names too long for a file system keep
     * a readable prefix and end in a hash of the full path.
     *
     * @param relativePath the file's path relative to the export directory, with '/' separators,
     *                     e.g. {@code uploads/2/ab/photo.png}
     * @throws IllegalArgumentException for absolute paths, empty segments, '.' or '..' segments
     */
    public static String partName(String relativePath) {
        StorePaths.check(relativePath);
        String encoded = relativePath.replace("%", "%25").replace("/", "%2F");
        byte[] bytes = encoded.getBytes(StandardCharsets.UTF_8);
        if (bytes.length + PART_SUFFIX.length() > MAX_PART_NAME_BYTES) {
            String hash = HexFormat.of().formatHex(Sha256.digest().digest(relativePath.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 32);
            encoded = truncateUtf8(encoded, MAX_PART_NAME_BYTES - PART_SUFFIX.length() - hash.length() - 1)
                    + "~" + hash;
        }
        return PARTS_DIRECTORY + "/" + encoded + PART_SUFFIX;
    }

    /**
     * A stream that compresses what is written to it into one gzip member on {@code part}, and on
     * {@link PartStream#finish()} pads it to the tar block size and ends the member (not closing
     * {@code part}).
     */
    public static PartStream partStream(OutputStream part, int level) throws IOException {
        return new PartStream(part, level);
    }

    /** The data of one tar entry as a gzip member being written; see {@link #partStream}. */
    public static final class PartStream extends FilterOutputStream {
        private final GZIPOutputStream gzip;
        private long size;

        private PartStream(OutputStream part, int level) throws IOException {
            super(null);
            this.gzip = gzip(new NonClosing(part), level);
            this.out = new BufferedOutputStream(gzip, BUFFER);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            size++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            size += len;
        }

        /** Bytes of the file written so far. */
        public long size() {
            return size;
        }

        /** Pads to a multiple of 512 bytes and ends the gzip member. */
        public void finish() throws IOException {
            pad(out, size);
            out.flush();
            // close, not just finish: it also frees the Deflater's native memory now (part stays
            // open), which a collector would otherwise only reclaim at a full collection
            gzip.close();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /**
     * The gzip member holding the tar header(s) of a file entry of {@code size} bytes: it goes
     * right before the file's part in the tarball.
     *
     * @param mtimeEpochSeconds the entry's modification time (a fixed one: bytes depend only on the content)
     */
    public static byte[] header(String entryName, long size, long mtimeEpochSeconds) throws IOException {
        checkEntryName(entryName);
        if (entryName.endsWith("/")) {
            throw new IllegalArgumentException("a file's entry name must not end with '/': " + entryName);
        }
        TarArchiveEntry entry = newEntry(entryName, TarConstants.LF_NORMAL, FILE_MODE, mtimeEpochSeconds);
        entry.setSize(size > MAX_USTAR_SIZE ? 0 : size);
        return member(out -> writeHeaders(out, entry, entryName, size));
    }

    /**
     * The gzip member of a directory entry (mode 0755). Not required for extraction (tar creates
     * parent directories), but it makes the top-level directory the first entry, as {@code tar -czf} would.
     *
     * @param entryName the directory's entry name; a trailing '/' is added when missing
     */
    public static byte[] directory(String entryName, long mtimeEpochSeconds) throws IOException {
        String name = entryName.endsWith("/") ? entryName : entryName + "/";
        checkEntryName(name);
        TarArchiveEntry entry = newEntry(name, TarConstants.LF_DIR, DIRECTORY_MODE, mtimeEpochSeconds);
        return member(out -> writeHeaders(out, entry, name, 0));
    }

    /** The last member of every tarball: the two zero blocks that end a tar archive. */
    public static byte[] endOfArchive() throws IOException {
        return member(out -> out.write(new byte[2 * BLOCK]));
    }

    /**
     * The file's bytes out of its part (without the padding), for a store that keeps no plain copy.
     *
     * @param size the file's size, as its writer reported it
     */
    public static InputStream readData(InputStream part, long size) throws IOException {
        InputStream gunzip = new GZIPInputStream(part, BUFFER);
        return new FilterInputStream(gunzip) {
            private long left = size;

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int b = super.read();
                if (b >= 0) {
                    left--;
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }
        };
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

    private static GZIPOutputStream gzip(OutputStream out, int level) throws IOException {
        if (level < Deflater.NO_COMPRESSION || level > Deflater.BEST_COMPRESSION) {
            throw new IllegalArgumentException("gzip level must be 0-9: " + level);
        }
        // GZIPOutputStream writes header mtime 0 and no file name: the member's bytes depend only on its input.
        return new GZIPOutputStream(out, BUFFER) {
            private boolean sniffed = level == Deflater.NO_COMPRESSION;
            private boolean probed = sniffed;

            {
                def.setLevel(level);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (!sniffed) {
                    sniffed = true;
                    if (len >= SNIFF_BYTES && bitsPerByte(b, off, SNIFF_BYTES) >= STORED_BITS_PER_BYTE) {
                        def.setLevel(Deflater.NO_COMPRESSION);
                        probed = true;
                    }
                }
                super.write(b, off, len);
                if (!probed && def.getBytesRead() >= PROBE_BYTES) {
                    probed = true;
                    storeIfIncompressible();
                }
            }

            /**
             * Flushes what the deflater holds (a sync flush: the member stays one valid stream) so
             * that its output so far is exact, and stores the rest when the probe did not shrink.
             */
            private void storeIfIncompressible() throws IOException {
                int n;
                while ((n = def.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH)) > 0) {
                    out.write(buf, 0, n);
                }
                if (def.getBytesWritten() * 10 > def.getBytesRead() * 9) {
                    def.setLevel(Deflater.NO_COMPRESSION);
                    // applied now, with no input pending: zlib compresses the input it holds when the
                    // level changes at the old level, which would be the whole next write
                    while ((n = def.deflate(buf, 0, buf.length, Deflater.NO_FLUSH)) > 0) {
                        out.write(buf, 0, n);
                    }
                }
            }
        };
    }

    /** Shannon entropy of the byte values of {@code b[off, off+len)}, in bits per byte (0-8). */
    static double bitsPerByte(byte[] b, int off, int len) {
        int[] counts = new int[256];
        for (int i = off; i < off + len; i++) {
            counts[b[i] & 0xff]++;
        }
        double bits = 0;
        for (int c : counts) {
            if (c > 0) {
                double p = (double) c / len;
                bits -= p * Math.log(p);
            }
        }
        return bits / Math.log(2);
    }

    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    /** One gzip member, in memory, of what {@code body} writes. */
    private static byte[] member(Body body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        GZIPOutputStream gzip = gzip(bytes, DEFAULT_LEVEL);
        body.write(gzip);
        gzip.close(); // frees the Deflater's native memory now
        return bytes.toByteArray();
    }

    /** Keeps a wrapped stream open when the wrapper is closed. */
    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }

    private static void checkEntryName(String entryName) {
        Objects.requireNonNull(entryName, "entryName");
        StorePaths.check(entryName.endsWith("/") ? entryName.substring(0, entryName.length() - 1) : entryName);
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

}
