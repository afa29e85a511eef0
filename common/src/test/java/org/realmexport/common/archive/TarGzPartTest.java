package org.realmexport.common.archive;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Path path = exportDir.resolve(file.getKey());
            Files.createDirectories(path.getParent());
            Files.write(path, file.getValue());
        }
    }

    @Test
    void partsPlusEndMemberFormATarballThatCommonsCompressAndGnuTarRead() throws Exception {
        TarGzPart.Tarball tarball = assemble(tmp.resolve("out.tar.gz"));

        byte[] bytes = Files.readAllBytes(tarball.path());
        assertThat(tarball.size()).isEqualTo(bytes.length);
        assertThat(tarball.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));

        // commons-compress, reading the concatenated gzip members
        Map<String, byte[]> read = new LinkedHashMap<>();
        Map<String, TarArchiveEntry> entries = new LinkedHashMap<>();
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarball.path()), true);
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
        Process list = run(tmp, "tar", "-tzf", tarball.path().toString());
        assertThat(new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines())
                .containsExactlyElementsOf(expected.keySet());
        Path extracted = Files.createDirectories(tmp.resolve("extracted"));
        Process extract = run(extracted, "tar", "-xzf", tarball.path().toString());
        assertThat(new String(extract.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Path path = extracted.resolve(TOP).resolve(file.getKey());
            assertThat(Files.readAllBytes(path)).as(file.getKey()).isEqualTo(file.getValue());
            assertThat(Files.getLastModifiedTime(path)).isEqualTo(FileTime.from(MTIME, TimeUnit.SECONDS));
        }
    }

    @Test
    void aPartHoldsOneEntryWithoutEndOfArchiveBlocks() throws IOException {
        Path part = TarGzPart.partPath(exportDir, "realm.json");
        TarGzPart.writePart(exportDir.resolve("realm.json"), TOP + "/realm.json", part, MTIME);

        byte[] tar = gunzip(part);
        int size = files.get("realm.json").length;
        // one header block + the data padded to a block; the last block holds data, not zeros
        assertThat(tar.length).isEqualTo(512 + 512);
        assertThat(new String(tar, 512, size, StandardCharsets.UTF_8)).isEqualTo(new String(files.get("realm.json"), StandardCharsets.UTF_8));
        assertThat(tar[512 + size]).isZero();

        Path end = tmp.resolve("end.tgz");
        TarGzPart.writeEndOfArchive(end);
        assertThat(gunzip(end)).isEqualTo(new byte[1024]);
    }

    @Test
    void sameInputGivesByteIdenticalPartsWhateverTheFilesOwnMtime() throws IOException {
        Path source = exportDir.resolve("messages-000001.json");
        Path first = tmp.resolve("first/part.tgz");
        Path second = tmp.resolve("second/part.tgz");
        TarGzPart.writePart(source, TOP + "/messages-000001.json", first, MTIME);
        Files.setLastModifiedTime(source, FileTime.fromMillis(System.currentTimeMillis() - 86_400_000L));
        TarGzPart.writePart(source, TOP + "/messages-000001.json", second, MTIME);
        assertThat(Files.readAllBytes(second)).isEqualTo(Files.readAllBytes(first));

        // the caller-given mtime is what reaches the archive
        Path other = tmp.resolve("third/part.tgz");
        TarGzPart.writePart(source, TOP + "/messages-000001.json", other, MTIME + 1);
        assertThat(Files.readAllBytes(other)).isNotEqualTo(Files.readAllBytes(first));

        // a long name (PAX header) is deterministic too
        String longName = TOP + "/uploads/2/ab/" + "long-name-".repeat(12) + ".png";
        Path longSource = exportDir.resolve(longName.substring(TOP.length() + 1));
        TarGzPart.writePart(longSource, longName, tmp.resolve("a.tgz"), MTIME, 1);
        TarGzPart.writePart(longSource, longName, tmp.resolve("b.tgz"), MTIME, 1);
        assertThat(Files.readAllBytes(tmp.resolve("b.tgz"))).isEqualTo(Files.readAllBytes(tmp.resolve("a.tgz")));
        assertThat(TarGzPart.readEntryName(tmp.resolve("a.tgz"))).isEqualTo(longName);
    }

    @Test
    void partsAppearAtomicallyAndFailuresLeaveNothingBehind() throws IOException {
        Path parts = exportDir.resolve(TarGzPart.PARTS_DIRECTORY);
        TarGzPart.writePart(exportDir.resolve("realm.json"), TOP + "/realm.json",
                TarGzPart.partPath(exportDir, "realm.json"), MTIME);
        assertThatThrownBy(() -> TarGzPart.writePart(exportDir.resolve("missing.json"), TOP + "/missing.json",
                TarGzPart.partPath(exportDir, "missing.json"), MTIME)).isInstanceOf(IOException.class);
        try (Stream<Path> listing = Files.list(parts)) {
            assertThat(listing.map(p -> p.getFileName().toString())).containsExactly("realm.json.tgz");
        }
    }

    @Test
    void concatenateRefusesSomethingThatIsNotAGzipMember() throws IOException {
        Path notGzip = exportDir.resolve("realm.json");
        assertThatThrownBy(() -> TarGzPart.concatenate(List.of(notGzip), tmp.resolve("bad.tar.gz")))
                .isInstanceOf(IOException.class).hasMessageContaining("not a gzip member");
        assertThat(tmp.resolve("bad.tar.gz")).doesNotExist();
    }

    @Test
    void partPathsEscapeSlashesAndRejectTraversal() {
        Path parts = exportDir.resolve(".parts");
        assertThat(TarGzPart.partPath(exportDir, "messages-000001.json"))
                .isEqualTo(parts.resolve("messages-000001.json.tgz"));
        assertThat(TarGzPart.partPath(exportDir, "uploads/2/ab/x.png"))
                .isEqualTo(parts.resolve("uploads%2F2%2Fab%2Fx.png.tgz"));
        // '%' is escaped too, so two different paths never share a part
        assertThat(TarGzPart.partPath(exportDir, "a%2Fb")).isNotEqualTo(TarGzPart.partPath(exportDir, "a/b"));
        String longPath = "uploads/2/ab/" + "x".repeat(300) + ".png";
        Path longPart = TarGzPart.partPath(exportDir, longPath);
        assertThat(longPart.getFileName().toString().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(200);
        assertThat(longPart).isNotEqualTo(TarGzPart.partPath(exportDir, longPath + "2"));
        for (String bad : List.of("", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/")) {
            assertThatThrownBy(() -> TarGzPart.partPath(exportDir, bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    private TarGzPart.Tarball assemble(Path tarball) throws IOException {
        List<Path> parts = new ArrayList<>();
        Path dirPart = exportDir.resolve(TarGzPart.PARTS_DIRECTORY).resolve("_top.tgz");
        TarGzPart.writeDirectoryPart(TOP, dirPart, MTIME);
        parts.add(dirPart);
        for (String name : files.keySet()) {
            Path part = TarGzPart.partPath(exportDir, name);
            TarGzPart.writePart(exportDir.resolve(name), TOP + "/" + name, part, MTIME);
            parts.add(part);
        }
        Path end = exportDir.resolve(TarGzPart.PARTS_DIRECTORY).resolve("_end.tgz");
        TarGzPart.writeEndOfArchive(end);
        parts.add(end);
        return TarGzPart.concatenate(parts, tarball);
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
