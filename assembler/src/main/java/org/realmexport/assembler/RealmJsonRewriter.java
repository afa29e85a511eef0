package org.realmexport.assembler;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Adds the tables only the assembler can write ({@code zerver_reaction}, {@code zerver_client}:
 * they depend on every shard) to the realm.json a worker wrote: a streaming token copy of the
 * file with the new keys before its closing brace, renamed over the original. realm.json can be
 * large (the audit log), so it is never loaded whole.
 *
 * <p>Idempotent: keys the assembler adds are dropped from the input, so running it again over
 * its own output gives the same bytes (the copy is a fixed point: numbers keep their text,
 * strings are re-escaped the same way).
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
     * @param inputSha256 sha256 of the file as it was read
     * @param rewritten  whether the input already held the added keys (an earlier finalizing)
     */
    record Result(Map<String, Long> tables, AtomicFile.Written file, String inputSha256, boolean rewritten) {
    }

    private RealmJsonRewriter() {
    }

    /**
     * @param expectedSha256 what the realm task reported; checked when the input is the worker's
     *                       (not an earlier rewrite), before anything is replaced
     */
    static Result rewrite(Path realmJson, String expectedSha256, JsonCounting.IdSink ids, Tail tail)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        MessageDigest digest = AtomicFile.sha256();
        Map<String, Long> tables = new TreeMap<>();
        boolean rewritten = false;
        String inputSha256;
        AtomicFile.Written written;
        try (InputStream in = new DigestInputStream(Files.newInputStream(realmJson), digest);
             AtomicFile out = AtomicFile.create(realmJson, true)) {
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
                        rewritten = true;
                        continue;
                    }
                    g.writeFieldName(key);
                    if (value == JsonToken.START_ARRAY) {
                        tables.put(key, JsonCounting.readArray(p, "realm.json", key,
                                ids == null ? null : ids.idsOf(key), g));
                    } else {
                        JsonCounting.copyValue(p, g);
                    }
                }
                if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                    throw new ExportAnomaly("realm.json has trailing content after its JSON object");
                }
                tables.putAll(tail.write(g));
                g.writeEndObject();
                byte[] buf = new byte[8192];
                while (in.read(buf) >= 0) {
                    // digest the rest (trailing whitespace) before the parser closes the stream
                }
            }
            inputSha256 = HexFormat.of().formatHex(digest.digest());
            if (!rewritten && expectedSha256 != null && !expectedSha256.equalsIgnoreCase(inputSha256)) {
                throw new ExportAnomaly("realm.json does not match what the realm task reported (sha256 "
                        + inputSha256 + ", reported " + expectedSha256 + "): it changed after the task wrote it");
            }
            out.stream().write('\n');
            written = out.commit();
        }
        return new Result(tables, written, inputSha256, rewritten);
    }
}
