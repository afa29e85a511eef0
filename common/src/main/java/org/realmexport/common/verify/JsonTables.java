package org.realmexport.common.verify;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.realmexport.common.Json;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Streams the JSON files of an export with Jackson's parser, one row in memory at a time:
 * {@code {"table": [{row}, ...], "other": value}} (realm.json, messages-*.json, ...) or a
 * top-level list of records (records.json).
 */
final class JsonTables {

    /** What to do with the top-level entries of an object file. */
    interface Visitor {
        /** The consumer of the rows of a list-valued key, or null to skip them (still counted). */
        Consumer<ObjectNode> table(String key);

        /** A top-level value that is not a list (read as a tree: such values are small). */
        default void value(String key, JsonNode value) {
        }
    }

    private JsonTables() {
    }

    /**
     * Reads a top-level object and returns, for each list-valued key, its length (in file
     * order); non-object elements of a list are reported to {@code nonObject} and not counted
     * as rows passed to the visitor.
     */
    static Map<String, Long> readObject(Path file, Visitor visitor, Consumer<String> nonObject)
            throws IOException {
        Map<String, Long> lengths = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file);
             JsonParser parser = Json.MAPPER.createParser(in)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("expected a JSON object at the top level");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String key = parser.currentName();
                JsonToken token = parser.nextToken();
                if (token == JsonToken.START_ARRAY) {
                    lengths.put(key, readRows(parser, visitor.table(key), () -> nonObject.accept(key)));
                } else {
                    visitor.value(key, parser.readValueAsTree());
                }
            }
            requireEnd(parser);
        }
        return lengths;
    }

    /** Reads a top-level list of objects (records.json) and returns its length. */
    static long readList(Path file, Consumer<ObjectNode> rows, Runnable nonObject) throws IOException {
        try (InputStream in = Files.newInputStream(file);
             JsonParser parser = Json.MAPPER.createParser(in)) {
            if (parser.nextToken() != JsonToken.START_ARRAY) {
                throw new IOException("expected a JSON list at the top level");
            }
            long n = readRows(parser, rows, nonObject);
            requireEnd(parser);
            return n;
        }
    }

    /** Visits each entry of a top-level object's object-valued key, e.g. manifest.json's "files". */
    static boolean readEntries(Path file, String key, java.util.function.BiConsumer<String, JsonNode> entries)
            throws IOException {
        boolean found = false;
        try (InputStream in = Files.newInputStream(file);
             JsonParser parser = Json.MAPPER.createParser(in)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("expected a JSON object at the top level");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken token = parser.nextToken();
                if (name.equals(key) && token == JsonToken.START_OBJECT) {
                    found = true;
                    while (parser.nextToken() == JsonToken.FIELD_NAME) {
                        String entry = parser.currentName();
                        parser.nextToken();
                        entries.accept(entry, parser.readValueAsTree());
                    }
                } else {
                    parser.skipChildren();
                }
            }
            requireEnd(parser);
        }
        return found;
    }

    private static long readRows(JsonParser parser, Consumer<ObjectNode> rows, Runnable nonObject)
            throws IOException {
        long n = 0;
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (token == null) {
                throw new IOException("unexpected end of file inside a list");
            }
            n++;
            if (token == JsonToken.START_OBJECT && rows != null) {
                rows.accept(parser.readValueAsTree());
            } else {
                if (token != JsonToken.START_OBJECT) {
                    nonObject.run();
                }
                parser.skipChildren();
            }
        }
        return n;
    }

    private static void requireEnd(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.END_OBJECT && parser.currentToken() != JsonToken.END_ARRAY) {
            throw new IOException("malformed JSON near line " + parser.currentLocation().getLineNr());
        }
        if (parser.nextToken() != null) {
            throw new IOException("trailing data after the top-level value");
        }
    }
}
