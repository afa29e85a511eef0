package org.realmexport.common.storage;

import java.time.Instant;
import java.util.Map;

/**
 * One stored upload, with what Zulip's export puts in a records.json entry for it.
 *
 * @param category   which of the realm's file kinds it is
 * @param bucket      the S3 bucket, or null for local storage
 * @param key         the object key, which is also its path in the export (checked by {@link StorePaths})
 * @param contentType null where the storage keeps none (local files)
 * @param md5         the ETag without its quotes (S3), or null
 * @param metadata    the object's user metadata (S3: realm_id, user_profile_id, ...), empty for local files
 */
public record UploadObject(UploadSource.Category category, String bucket, String key, long size, Instant lastModified, String contentType,
                           String md5, Map<String, String> metadata) {
}
