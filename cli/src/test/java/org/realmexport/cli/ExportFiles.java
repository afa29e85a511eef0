package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What the pipeline tests read back from an export: its message files, its tarball's bytes, row ids. */
final class ExportFiles {
    private ExportFiles() {
    }

    /** Every byte of the tarball's entries (gunzipped), as ISO-8859-1 text so that any UTF-8 needle matches. */
    static String unpackedBytes(Path tarball) throws IOException {
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarball), true)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** The export directory's messages-NNNNNN.json files, in order. */
    static List<Path> messageFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("messages-\\d{6}\\.json")).sorted().toList();
        }
    }

    /** The "id" of each row. */
    static List<Long> idsOf(JsonNode rows) {
        List<Long> ids = new ArrayList<>();
        rows.forEach(r -> ids.add(r.get("id").asLong()));
        return ids;
    }
}
