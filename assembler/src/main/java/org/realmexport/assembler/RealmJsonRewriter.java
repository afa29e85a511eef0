package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.storage.StoredFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
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
 * worker's file with the new keys before its closing brace, written as the export's realm.json.
 * realm.json can be large (the audit log), so it is never loaded whole; numbers keep their text.
 *
 * <p>The worker's file is read out of its tarball part, which stays as the worker wrote it (the
 * new realm.json has a part of its own, {@link #PART}), so that finalizing again starts from the
 * same input, checked against the task's report, and writes the same bytes. Keys the assembler
 * adds are dropped from the input should the worker have written them (e.g. an empty zerver_client).
 */
final class RealmJsonRewriter {
    static final Set<String> ADDED_KEYS = Set.of("zerver_reaction", "zerver_client");
    /** The part of the assembler's realm.json; '%' alone never comes out of TarGzPart.partName. */
    static final String PART = TarGzPart.PARTS_DIRECTORY + "/%realm.json.assembled" + TarGzPart.PART_SUFFIX;

    /** Writes the added keys; returns their row counts. */
    interface Tail {
        Map<String, Long> write(JsonGenerator g) throws IOException, SQLException, ExportAnomaly, InterruptedException;
    }

    /**
     * @param tables     rows per list-valued key of the result (for stats.json)
     * @param file       size and sha256 of the new realm.json
     */
    record Result(Map<String, Long> tables, StoredFile.Written file) {
    }

    private RealmJsonRewriter() {
    }

    /**
     * @param reported what the realm task reported for its realm.json; checked before the result is listed
     * @param fields   receives the fields of the rows of the tables it asks for (may be null)
     */
    static Result rewrite(ExportOutput out, TaskResult.FileInfo reported, JsonCounting.FieldSink fields, Tail tail)
            throws IOException, SQLException, ExportAnomaly, InterruptedException {
        MessageDigest digest = Sha256.digest();
        Map<String, Long> tables = new TreeMap<>();
        StoredFile.Written written;
        try (InputStream in = new DigestInputStream(
                open(out, reported), digest);
             JsonParser p = JsonCounting.parser(in)) {
            written = out.writeJson(ResultSummary.REALM_JSON, PART, g -> {
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
                String inputSha256 = HexFormat.of().formatHex(digest.digest());
                if (!reported.sha256().equalsIgnoreCase(inputSha256)) {
                    throw new ExportAnomaly("realm.json does not match what the realm task reported (sha256 "
                            + inputSha256 + ", reported " + reported.sha256() + "): it changed after the task wrote it");
                }
            });
        }
        return new Result(tables, written);
    }

    /** The worker's realm.json, out of its part (the plain realm.json is the assembler's once finalized). */
    private static InputStream open(ExportOutput out, TaskResult.FileInfo reported) throws IOException, ExportAnomaly {
        try {
            return TarGzPart.readData(out.store().open(TarGzPart.partName(ResultSummary.REALM_JSON)), reported.size());
        } catch (NoSuchFileException e) {
            throw new ExportAnomaly("the realm task's realm.json is missing from " + out.store().location()
                    + " (its part " + TarGzPart.partName(ResultSummary.REALM_JSON) + ")");
        }
    }
}
