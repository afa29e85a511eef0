package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.realmexport.common.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;
import java.util.function.LongPredicate;

/**
 * Streaming reads and copies of export JSON files ({@code {"table": [rows], ...}}), never a whole
 * file in memory: row counts per table, the values of some integer fields of a table's rows (ids,
 * references), and an exact token copy (numbers keep their text, so {@code 1700000000.123456} is
 * not rewritten as a double).
 */
final class JsonCounting {
    private JsonCounting() {
    }

    /** What a read saw: rows per list-valued key, and the file's size and sha256. */
    record Counted(Map<String, Long> tables, long size, String sha256) {
    }

    /** The integer fields of a table's rows wanted while it is read or copied; null means none. */
    interface FieldSink {
        Fields fieldsOf(String table);
    }

    /**
     * Field names and where their values go: a handful, looked up for every field of every row. A
     * copy can also write a field as null unless its value is accepted ({@link #nullUnless}).
     */
    static final class Fields {
        private final String[] names;
        private final LongConsumer[] sinks;
        private final LongPredicate[] keeps;

        private Fields(String[] names, LongConsumer[] sinks) {
            this(names, sinks, new LongPredicate[names.length]);
        }

        private Fields(String[] names, LongConsumer[] sinks, LongPredicate[] keeps) {
            this.names = names;
            this.sinks = sinks;
            this.keeps = keeps;
        }

        /** These fields, and {@code field} copied as null when {@code keep} rejects its value. */
        Fields nullUnless(String field, LongPredicate keep) {
            int n = names.length;
            String[] moreNames = Arrays.copyOf(names, n + 1);
            LongConsumer[] moreSinks = Arrays.copyOf(sinks, n + 1);
            LongPredicate[] moreKeeps = Arrays.copyOf(keeps, n + 1);
            moreNames[n] = field;
            moreKeeps[n] = keep;
            return new Fields(moreNames, moreSinks, moreKeeps);
        }

        private int indexOf(String field) {
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(field)) {
                    return i;
                }
            }
            return -1;
        }

        static Fields of(String field, LongConsumer sink) {
            return new Fields(new String[] {field}, new LongConsumer[] {sink});
        }

        static Fields of(String field1, LongConsumer sink1, String field2, LongConsumer sink2) {
            return new Fields(new String[] {field1, field2}, new LongConsumer[] {sink1, sink2});
        }

        static Fields of(String field1, LongConsumer sink1, String field2, LongConsumer sink2,
                         String field3, LongConsumer sink3) {
            return new Fields(new String[] {field1, field2, field3}, new LongConsumer[] {sink1, sink2, sink3});
        }

    }

    static JsonParser parser(InputStream in) throws IOException {
        return Json.FACTORY.createParser(in);
    }

    static JsonGenerator generator(OutputStream out) throws IOException {
        JsonGenerator g = Json.FACTORY.createGenerator(out);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        return g;
    }

    /** Reads a whole export JSON file: counts, the wanted fields of its rows, sha256 of its bytes. */
    static Counted read(InputStream raw, String name, FieldSink fields) throws IOException {
        MessageDigest digest = Sha256.digest();
        long[] size = {0};
        InputStream in = new DigestInputStream(raw, digest) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) {
                    size[0] += n;
                }
                return n;
            }

            @Override
            public int read() throws IOException {
                int n = super.read();
                if (n >= 0) {
                    size[0]++;
                }
                return n;
            }
        };
        Map<String, Long> tables = new TreeMap<>();
        try (JsonParser p = parser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(name + " is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken value = p.nextToken();
                if (value == JsonToken.START_ARRAY) {
                    tables.put(key, readArray(p, name, key, fields == null ? null : fields.fieldsOf(key), null));
                } else {
                    p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new IOException(name + " has trailing content after its JSON object");
            }
            // nextToken() == null: the parser has read to the end of the input, the digest is whole
        }
        return new Counted(tables, size[0], HexFormat.of().formatHex(digest.digest()));
    }

    /**
     * Reads (and, when {@code g} is not null, copies) the array the parser is on, returning its
     * length; the wanted fields of its object elements go to their sinks (a null value is skipped,
     * except for {@code id}, which every row has).
     */
    static long readArray(JsonParser p, String file, String key, Fields fields, JsonGenerator g)
            throws IOException {
        if (g != null) {
            g.writeStartArray();
        }
        long n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
                throw new IOException(file + " ends inside " + key);
            }
            n++;
            if (t == JsonToken.START_OBJECT && (fields != null || g != null)) {
                if (g != null) {
                    g.writeStartObject();
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken v = p.nextToken();
                    int wanted = fields == null ? -1 : fields.indexOf(field);
                    if (wanted >= 0) {
                        if (v != JsonToken.VALUE_NUMBER_INT && (v != JsonToken.VALUE_NULL || field.equals("id"))) {
                            throw new IOException(file + ": a row of " + key + " has a non-integer " + field);
                        }
                        LongConsumer sink = fields.sinks[wanted];
                        if (sink != null && v == JsonToken.VALUE_NUMBER_INT) {
                            sink.accept(p.getLongValue());
                        }
                        LongPredicate keep = fields.keeps[wanted];
                        if (g != null && keep != null && v == JsonToken.VALUE_NUMBER_INT && !keep.test(p.getLongValue())) {
                            g.writeFieldName(field);
                            g.writeNull();
                            continue;
                        }
                    }
                    if (g != null) {
                        g.writeFieldName(field);
                        copyValue(p, g);
                    } else {
                        p.skipChildren();
                    }
                }
                if (g != null) {
                    g.writeEndObject();
                }
            } else if (g != null) {
                copyValue(p, g);
            } else {
                p.skipChildren();
            }
        }
        if (g != null) {
            g.writeEndArray();
        }
        return n;
    }

    /** Copies the value the parser is on (scalar or structure), numbers as their exact text. */
    static void copyValue(JsonParser p, JsonGenerator g) throws IOException {
        int depth = 0;
        while (true) {
            JsonToken t = p.currentToken();
            switch (t) {
                case START_OBJECT -> {
                    g.writeStartObject();
                    depth++;
                }
                case START_ARRAY -> {
                    g.writeStartArray();
                    depth++;
                }
                case END_OBJECT -> {
                    g.writeEndObject();
                    depth--;
                }
                case END_ARRAY -> {
                    g.writeEndArray();
                    depth--;
                }
                case FIELD_NAME -> g.writeFieldName(p.currentName());
                case VALUE_STRING -> g.writeString(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> g.writeNumber(p.getText());
                case VALUE_TRUE -> g.writeBoolean(true);
                case VALUE_FALSE -> g.writeBoolean(false);
                case VALUE_NULL -> g.writeNull();
                default -> throw new IOException("unexpected JSON token " + t);
            }
            if (depth == 0) {
                return;
            }
            if (p.nextToken() == null) {
                throw new IOException("JSON ends inside a value");
            }
        }
    }
}
