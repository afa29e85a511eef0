package org.realmexport.common.event;

import java.net.URI;

/**
 * A trigger on {@code realm-export.requests}, keyed by request id.
 *
 * @param v              format version
 * @param requestId      client-chosen unique id; the export id is derived from it
 * @param realm          the realm's numeric id or its string_id ("" is the root-domain realm)
 * @param type           export type, {@code public | full-with-consent | full}
 * @param output         where exports go: {@code file:///dir} or {@code s3://bucket/prefix}
 *                       ({@link org.realmexport.common.storage.ExportStores#location}); null for the producer's default
 * @param realmExportId  the {@code zerver_realmexport} row this request came from (CDC), or null
 * @param requestedAt    epoch milliseconds when the trigger was written
 * @param user           a single-user export of this user of the realm (id or email), or null for a
 *                       realm export; {@code type} is then ignored
 */
public record ExportRequest(int v, String requestId, String realm, String type, URI output,
                            Long realmExportId, long requestedAt, String user) implements Versioned {

    /**
     * The format version of a single-user request: a producer older than the single-user export
     * reads only v=1 and so dead-letters it, instead of ignoring {@code user} and exporting the
     * whole realm. Realm requests stay v=1, which every producer reads.
     */
    public static final int USER_FORMAT = 2;

    /** A realm export request. */
    public ExportRequest(int v, String requestId, String realm, String type, URI output, Long realmExportId,
                         long requestedAt) {
        this(v, requestId, realm, type, output, realmExportId, requestedAt, null);
    }

    /** A single-user export request, in the format version it needs. */
    public static ExportRequest forUser(String requestId, String realm, String user, URI output, long requestedAt) {
        return new ExportRequest(USER_FORMAT, requestId, realm, null, output, null, requestedAt, user);
    }

    /** Whether this asks for a single-user export. */
    public boolean userExport() {
        return user != null;
    }

    @Override
    public void checkVersion() {
        if (v() < 1 || v() > USER_FORMAT) {
            throw new IllegalArgumentException("unsupported format version v=" + v() + " (this build reads requests of 1.."
                    + USER_FORMAT + ")");
        }
    }
}
