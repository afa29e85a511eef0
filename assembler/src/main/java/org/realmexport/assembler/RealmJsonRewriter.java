package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.realmexport.common.storage.AtomicFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Adds the tables only the assembler can write ({@code zerver_reaction}, {@code zerver_client}:
 * they depend on every shard) to the realm.json a worker wrote: a streaming token copy of the
 * worker's file with the new keys before its closing brace, renamed over {@code realm.json}.
 * realm.json can be large (the audit log), so it is never loaded whole; numbers keep their text.
 *
 * <p>The worker's original is kept (a hard link in {@code .parts/}, see {@link #preserveOriginal}),
 * so that finalizing again starts from the same input, checked against the task's report, and
 * writes the same bytes. Keys the assembler adds are dropped from the input should the worker
 * have written them (e.g. an empty zerver_client).
 */
final class RealmJsonRewriter {
    static final Set<String> ADDED_KEYS = Set.of("zerver_reaction", "zerver_client");

    /** Writes the added keys; returns their row counts. */
    interface Tail {
        Map<String, Long> write(JsonGenerator g) throws IOException, SQLException, ExportAnomaly, InterruptedException;
    }

    /**
     * @param tables     rows per list-valued key of the result (for stats.json)
     * @param file       size and sha256 of the new realm.json
     */
    record Result(Map<String, Long> tables, AtomicFile.Written file) {
    }

    /**
     * Keeps the worker's realm.json as {@code original} (a hard link: no copy, and the worker's
     * bytes stay put when realm.json is replaced), unless it is already kept.
     */
    static void preserveOriginal(Path realmJson, Path original) throws IOException {
        if (Files.exists(original)) {
            return;
        }
        Files.createDirectories(original.getParent());
        try {
            Files.createLink(original, realmJson);
        } catch (FileAlreadyExistsException e) {
            // another finalizing of the same export kept it first
        } catch (UnsupportedOperationException | IOException e) {
            if (Files.exists(original)) {
                return;
            }
            Path temp = original.resolveSibling("." + original.getFileName() + ".tmp-" + UUID.randomUUID());
            try {
                Files.copy(realmJson, temp);
                Files.move(temp, original, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }

    private RealmJsonRewriter() {
    }

    /**
     * @param source         the worker's realm.json
     * @param target         where the result goes (atomically)
     * @param expectedSha256 what the realm task reported for it; checked before anything is replaced
     * @param fields         receives the fields of the rows of the tables it asks for (may be null)
     */
    static Result rewrite(Path source, Path target, String expectedSha256, JsonCounting.FieldSink fields, Tail tail)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        MessageDigest digest = AtomicFile.sha256();
        Map<String, Long> tables = new TreeMap<>();
        AtomicFile.Written written;
        try (InputStream in = new DigestInputStream(Files.newInputStream(source), digest);
             AtomicFile out = AtomicFile.create(target, true)) {
            try (JsonParser p = JsonCounting.parser(in); JsonGenerator g = JsonCounting.generator(out.stream())) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new ExportAnomaly("realm.json is not a JSON object");
                }
                g.writeStartObject();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    JsonToken value = p.nextToken();
                    if (ADDED_KEYS.contains(key)) {
                        p.skipChildren();
                        continue;
                    }
                    g.writeFieldName(key);
                    if (value == JsonToken.START_ARRAY) {
                        tables.put(key, JsonCounting.readArray(p, "realm.json", key,
                                fields == null ? null : fields.fieldsOf(key), g));
                    } else {
                        JsonCounting.copyValue(p, g);
                    }
                }
                if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                    throw new ExportAnomaly("realm.json has trailing content after its JSON object");
                }
                tables.putAll(tail.write(g));
                g.writeEndObject();
                // the parser has read to the end of the input (trailing whitespace included): the digest is whole
            }
            String inputSha256 = HexFormat.of().formatHex(digest.digest());
            if (expectedSha256 != null && !expectedSha256.equalsIgnoreCase(inputSha256)) {
                throw new ExportAnomaly("realm.json does not match what the realm task reported (sha256 "
                        + inputSha256 + ", reported " + expectedSha256 + "): it changed after the task wrote it");
            }
            out.stream().write('\n');
            written = out.commit();
        }
        return new Result(tables, written);
    }
}
