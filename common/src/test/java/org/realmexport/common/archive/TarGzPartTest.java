package org.realmexport.common.archive;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StoredFile;
import org.realmexport.common.storage.local.LocalExportStore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TarGzPartTest {
    private static final String TOP = "zulip-export-abc";
    private static final long MTIME = 1_700_000_000L;

    @TempDir
    Path tmp;
    Path exportDir;
    /** relative path -> content, in the order the tarball holds them */
    final Map<String, byte[]> files = new LinkedHashMap<>();

    @BeforeEach
    void createExportFiles() throws IOException {
        exportDir = tmp.resolve(TOP);
        Random random = new Random(42);
        byte[] binary = new byte[1_000_003];
        random.nextBytes(binary);
        StringBuilder json = new StringBuilder("{\"zerver_message\":[");
        for (int i = 0; i < 20_000; i++) {
            json.append("{\"id\":").append(i).append(",\"content\":\"hello ").append(i * 7).append("\"},");
        }
        json.append("{}]}");
        files.put("empty.json", new byte[0]);
        files.put("exactly-512.bin", filled(512, (byte) 'x'));
        files.put("messages-000001.json", json.toString().getBytes(StandardCharsets.UTF_8));
        files.put("realm.json", "{\"zerver_realm\":[{\"id\":2}]}\n".getBytes(StandardCharsets.UTF_8));
        files.put("uploads/2/ab/" + "long-name-".repeat(12) + ".png", binary);
        files.put("uploads/2/cd/été café ☕.txt", "unicode name\n".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void headersPartsAndEndMemberFormATarballThatCommonsCompressAndGnuTarRead() throws Exception {
        ExportStore.Assembled tarball = assemble();
        Path tarballPath = Path.of(tarball.location());
        assertThat(tarballPath).isEqualTo(tmp.resolve(TOP + ".tar.gz"));

        byte[] bytes = Files.readAllBytes(tarballPath);
        assertThat(tarball.size()).isEqualTo(bytes.length);
        assertThat(tarball.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));

        // commons-compress, reading the concatenated gzip members
        Map<String, byte[]> read = new LinkedHashMap<>();
        Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarballPath), true);
             TarArchiveInputStream tar = new TarArchiveInputStream(in, "UTF-8")) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                entries.put(e.getName(), e);
                read.put(e.getName(), tar.readAllBytes());
            }
        }
        Map<String, byte[]> expected = new LinkedHashMap<>();
        expected.put(TOP + "/", new byte[0]);
        files.forEach((name, content) -> expected.put(TOP + "/" + name, content));
        assertThat(read.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, content) -> assertThat(read.get(name)).as(name).isEqualTo(content));
        assertThat(entries.get(TOP + "/").isDirectory()).isTrue();
        TarArchiveEntry realm = entries.get(TOP + "/realm.json");
        assertThat(realm.getModTime().getTime()).isEqualTo(MTIME * 1000);
        assertThat(realm.getMode() & 07777).isEqualTo(0644);
        assertThat(realm.getUserName()).isEmpty();

        // GNU tar: lists the same names and extracts the same bytes, without complaint
        Process list = run(tmp, "tar", "-tzf", tarballPath.toString());
        assertThat(new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines())
                .containsExactlyElementsOf(expected.keySet());
        Path extracted = Files.createDirectories(tmp.resolve("extracted"));
        Process extract = run(extracted, "tar", "-xzf", tarballPath.toString());
        assertThat(new String(extract.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Path path = extracted.resolve(TOP).resolve(file.getKey());
            assertThat(Files.readAllBytes(path)).as(file.getKey()).isEqualTo(file.getValue());
            assertThat(Files.getLastModifiedTime(path)).isEqualTo(FileTime.from(MTIME, TimeUnit.SECONDS));
        }
    }

    @Test
    void aPartHoldsTheDataPaddedToABlockAndTheHeaderIsMadeApart() throws IOException {
        LocalExportStore store = new LocalExportStore(exportDir);
        write(store, "realm.json");
        byte[] data = gunzip(exportDir.resolve(TarGzPart.partName("realm.json")));
        int size = files.get("realm.json").length;
        // the data padded to a block, no header: the assembler makes it from the reported size
        assertThat(data.length).isEqualTo(512);
        assertThat(new String(data, 0, size, StandardCharsets.UTF_8)).isEqualTo(new String(files.get("realm.json"), StandardCharsets.UTF_8));
        assertThat(data[size]).isZero();
        assertThat(gunzip(TarGzPart.header(TOP + "/realm.json", size, MTIME))).hasSize(512);
        assertThat(gunzip(TarGzPart.endOfArchive())).isEqualTo(new byte[1024]);
        // the plain file is the same bytes, and reading back through the part gives them too
        assertThat(Files.readAllBytes(exportDir.resolve("realm.json"))).isEqualTo(files.get("realm.json"));
        try (InputStream in = TarGzPart.readData(store.open(TarGzPart.partName("realm.json")), size)) {
            assertThat(in.readAllBytes()).isEqualTo(files.get("realm.json"));
        }
    }

    @Test
    void sameInputGivesByteIdenticalPartsAndHeaders() throws IOException {
        LocalExportStore first = new LocalExportStore(tmp.resolve("first"));
        LocalExportStore second = new LocalExportStore(tmp.resolve("second"));
        write(first, "messages-000001.json");
        write(second, "messages-000001.json");
        String part = TarGzPart.partName("messages-000001.json");
        assertThat(Files.readAllBytes(second.directory().resolve(part))).isEqualTo(Files.readAllBytes(first.directory().resolve(part)));

        // the caller-given mtime is what reaches the archive
        assertThat(TarGzPart.header(TOP + "/a.json", 10, MTIME)).isEqualTo(TarGzPart.header(TOP + "/a.json", 10, MTIME));
        assertThat(TarGzPart.header(TOP + "/a.json", 10, MTIME + 1)).isNotEqualTo(TarGzPart.header(TOP + "/a.json", 10, MTIME));

        // a long name (PAX header) is deterministic too
        String longName = TOP + "/uploads/2/ab/" + "long-name-".repeat(12) + ".png";
        assertThat(TarGzPart.header(longName, 5, MTIME)).isEqualTo(TarGzPart.header(longName, 5, MTIME));
    }

    @Test
    void filesAppearWholeOrNotAtAll() throws IOException {
        LocalExportStore store = new LocalExportStore(exportDir);
        try (PackedFile file = PackedFile.create(store, "half.json", TarGzPart.DEFAULT_LEVEL, true)) {
            file.stream().write("{\"zerver_message\":[".getBytes(StandardCharsets.UTF_8));
            // no commit: a worker that died half way
        }
        assertThat(store.list("")).doesNotContainKeys("half.json", TarGzPart.partName("half.json"));
        try (Stream<Path> walk = Files.walk(exportDir)) {
            assertThat(walk.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                    .noneMatch(name -> name.contains("half"));
        }
    }

    @Test
    void assemblingFailsOnAMissingPartAndLeavesNoTarball() throws IOException {
        LocalExportStore store = new LocalExportStore(exportDir);
        List<ExportStore.Piece> pieces = List.of(new ExportStore.Inline(TarGzPart.endOfArchive()),
                new ExportStore.Stored(TarGzPart.partName("nothing.json"), 10));
        assertThatThrownBy(() -> store.assemble(pieces)).isInstanceOf(NoSuchFileException.class);
        assertThat(tmp.resolve(TOP + ".tar.gz")).doesNotExist();
    }

    @Test
    void partNamesEscapeSlashesAndRejectTraversal() {
        assertThat(TarGzPart.partName("messages-000001.json")).isEqualTo(".parts/messages-000001.json.tgz");
        assertThat(TarGzPart.partName("uploads/2/ab/x.png")).isEqualTo(".parts/uploads%2F2%2Fab%2Fx.png.tgz");
        // '%' is escaped too, so two different paths never share a part
        assertThat(TarGzPart.partName("a%2Fb")).isNotEqualTo(TarGzPart.partName("a/b"));
        String longPath = "uploads/2/ab/" + "x".repeat(300) + ".png";
        String longPart = TarGzPart.partName(longPath);
        assertThat(longPart.substring(".parts/".length()).getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(200);
        assertThat(longPart).isNotEqualTo(TarGzPart.partName(longPath + "2"));
        for (String bad : List.of("", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/")) {
            assertThatThrownBy(() -> TarGzPart.partName(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    private StoredFile.Written write(ExportStore store, String name) throws IOException {
        try (PackedFile file = PackedFile.create(store, name, TarGzPart.DEFAULT_LEVEL, true)) {
            byte[] content = files.get(name);
            // in uneven pieces, as a JSON generator flushes
            for (int off = 0; off < content.length; off += 7919) {
                file.stream().write(content, off, Math.min(7919, content.length - off));
            }
            return file.commit();
        }
    }

    private ExportStore.Assembled assemble() throws IOException {
        LocalExportStore store = new LocalExportStore(exportDir);
        List<ExportStore.Piece> pieces = new ArrayList<>();
        pieces.add(new ExportStore.Inline(TarGzPart.directory(TOP, MTIME)));
        Map<String, StoredFile.Written> written = new LinkedHashMap<>();
        for (String name : files.keySet()) {
            written.put(name, write(store, name));
        }
        Map<String, Long> parts = store.list(TarGzPart.PARTS_DIRECTORY + "/");
        for (String name : files.keySet()) {
            assertThat(written.get(name).size()).isEqualTo(files.get(name).length);
            assertThat(written.get(name).sha256()).isEqualTo(sha256(files.get(name)));
            pieces.add(new ExportStore.Inline(TarGzPart.header(TOP + "/" + name, written.get(name).size(), MTIME)));
            pieces.add(new ExportStore.Stored(TarGzPart.partName(name), parts.get(TarGzPart.partName(name))));
        }
        pieces.add(new ExportStore.Inline(TarGzPart.endOfArchive()));
        return store.assemble(pieces);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void incompressibleDataIsStoredAndTextCompressedEitherWayTheBytesComeBack() throws IOException {
        Random random = new Random(7);
        byte[] noise = new byte[70_000];
        random.nextBytes(noise);
        byte[] text = files.get("messages-000001.json");
        byte[] zeros = new byte[1 << 20];

        // random from the start: sniffed as incompressible, so even the zeros after it are stored
        byte[] randomStart = concat(java.util.Arrays.copyOf(noise, 8192), zeros);
        // text first (the sniff compresses), then random up to the probe: stored from the probe on
        byte[] textThenRandom = concat(java.util.Arrays.copyOf(text, 4096), java.util.Arrays.copyOf(noise, 61_440), zeros);
        // text through the probe: compressed to the end
        byte[] textThenZeros = concat(java.util.Arrays.copyOf(text, 70_000), zeros);

        assertThat(part(randomStart).length).isGreaterThan(zeros.length);
        assertThat(part(textThenRandom).length).isGreaterThan(zeros.length);
        assertThat(part(textThenZeros).length).isLessThan(30_000);
        assertThat(part(text).length).isLessThan(text.length / 4);
        for (byte[] data : List.of(randomStart, textThenRandom, textThenZeros, text, noise)) {
            byte[] padded = java.util.Arrays.copyOf(data, (data.length + 511) / 512 * 512);
            assertThat(gunzip(part(data))).isEqualTo(padded);
            assertThat(part(data)).isEqualTo(part(data));
        }
    }

    @Test
    void entropyOfTextIsLowAndOfRandomBytesNearEight() {
        byte[] noise = new byte[4096];
        new Random(3).nextBytes(noise);
        assertThat(TarGzPart.bitsPerByte(noise, 0, noise.length)).isGreaterThan(TarGzPart.STORED_BITS_PER_BYTE);
        byte[] json = files.get("messages-000001.json");
        assertThat(TarGzPart.bitsPerByte(json, 0, 4096)).isLessThan(6.0);
        assertThat(TarGzPart.bitsPerByte(filled(4096, (byte) 'x'), 0, 4096)).isZero();
    }

    /** The part (one gzip member) of {@code data}, written in 64 KiB pieces as a writer would. */
    private static byte[] part(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarGzPart.PartStream stream = TarGzPart.partStream(out, TarGzPart.DEFAULT_LEVEL);
        for (int off = 0; off < data.length; off += 65_536) {
            stream.write(data, off, Math.min(65_536, data.length - off));
        }
        stream.finish();
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... pieces) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : pieces) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] member) throws IOException {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(member))) {
            return in.readAllBytes();
        }
    }

    private static byte[] gunzip(Path part) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(part))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    private static Process run(Path dir, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        // GNU tar escapes non-ASCII names in its listing unless the locale is UTF-8
        builder.environment().put("LC_ALL", "C.UTF-8");
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command)).isZero();
        return process;
    }

    private static byte[] filled(int n, byte b) {
        byte[] bytes = new byte[n];
        java.util.Arrays.fill(bytes, b);
        return bytes;
    }
}
