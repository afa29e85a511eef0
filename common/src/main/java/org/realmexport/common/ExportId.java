package org.realmexport.common;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * Export ids are derived from the request id, so that the same request delivered twice maps to
 * the same export (planning is idempotent) and so that {@code realm-export request} can print
 * the id before the producer has seen the request.
 */
public final class ExportId {
    /**
     * The SLF4J MDC key of the export a log line is about; the logback pattern prints it, so an
     * operator can follow one export through every service ({@code grep export=<id>}).
     */
    public static final String MDC_KEY = "export_id";

    private ExportId() {
    }

    /** {@code action}, run with the export's id in the MDC (for work that runs later, e.g. after a commit). */
    public static Runnable inMdc(String exportId, Runnable action) {
        return () -> {
            try (org.slf4j.MDC.MDCCloseable ignored = org.slf4j.MDC.putCloseable(MDC_KEY, exportId)) {
                action.run();
            }
        };
    }

    public static String newRequestId() {
        return UUID.randomUUID().toString();
    }

    /** 20 lowercase hex characters: short enough for file names, wide enough never to collide. */
    public static String forRequest(String requestId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(requestId.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The name of the export's directory and, with {@code .tar.gz}, of its tarball. */
    public static String directoryName(String exportId) {
        return "zulip-export-" + exportId;
    }
}
