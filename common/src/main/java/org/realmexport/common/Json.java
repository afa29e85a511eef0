package org.realmexport.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one JSON configuration of the project. Topic payloads use snake_case field names
 * (as Zulip's own JSON does) and tolerate unknown fields, so that a newer producer can talk
 * to an older worker within the same format version.
 */
public final class Json {
    /** Mapper for topic payloads (records of {@code org.realmexport.common.event}). */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, true);

    /**
     * Factory for streaming export files. Characters outside the BMP (emoji) are written as their
     * 4-byte UTF-8, as Zulip's own export writes them, not as escaped surrogate pairs: the same bytes
     * whether a text reaches the generator as a String or as the database's UTF-8.
     */
    public static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

    private Json() {
    }

    public static byte[] toBytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses a payload; malformed input throws {@link IOException} so callers can dead-letter it. */
    public static <T> T fromBytes(byte[] bytes, Class<T> type) throws IOException {
        if (bytes == null) {
            throw new IOException("empty payload");
        }
        return MAPPER.readValue(bytes, type);
    }
}
