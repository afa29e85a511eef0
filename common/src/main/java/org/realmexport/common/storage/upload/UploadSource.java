package org.realmexport.common.storage.upload;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.SortedMap;

/**
 * Where a Zulip server keeps its uploaded files: its {@code LOCAL_UPLOADS_DIR}, or its two S3
 * buckets. Every reader of uploads goes through it; get one from {@link UploadSources#open}.
 *
 * <p>Keys are those of Zulip's S3 layout, the same for both backends: an attachment's
 * {@code path_id} in {@link Area#UPLOADS} ({@code <realm_id>/<hash>/<name>}), and in
 * {@link Area#AVATARS} the avatars ({@code <realm_id>/<avatar hash>...}), emoji
 * ({@code <realm_id>/emoji/images/<file>}) and realm icons and logos ({@code <realm_id>/realm/<file>}).
 */
public interface UploadSource extends Closeable {

    /** Zulip's two stores of files: the uploads bucket ({@code files/}) and the avatar bucket ({@code avatars/}). */
    enum Area { UPLOADS, AVATARS }

    /**
     * The objects whose key starts with {@code prefix}, by key. Bounded by one realm's files of
     * one area: callers list one realm's prefix at a time.
     */
    SortedMap<String, UploadObject> list(Area area, String prefix) throws IOException;

    /** Opens one listed object, with what the store keeps beside its bytes. */
    Download open(Area area, String key) throws IOException;

    /** Whether the objects carry S3's fields (bucket, content type, ETag, metadata), which records.json then holds. */
    boolean isS3();

    /** The bucket of an area (S3), or the directory (local), for messages and records. */
    String where(Area area);

    /** One stored file as a listing shows it. {@code etag} is S3's quoted ETag, null locally. */
    record UploadObject(String key, long size, Instant lastModified, String etag) {
    }

    /** The bytes of an object, with its content type and user metadata (S3; null and empty locally). */
    record Download(InputStream in, String contentType, Map<String, String> metadata) implements Closeable {
        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
