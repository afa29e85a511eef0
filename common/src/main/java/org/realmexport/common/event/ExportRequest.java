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
 */
public record ExportRequest(int v, String requestId, String realm, String type, URI output,
                            Long realmExportId, long requestedAt) implements Versioned {
}
