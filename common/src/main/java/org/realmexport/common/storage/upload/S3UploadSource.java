package org.realmexport.common.storage.upload;

import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Zulip's S3 storage: {@code S3_AUTH_UPLOADS_BUCKET} for attachments (key = path_id) and
 * {@code S3_AVATAR_BUCKET} for avatars, emoji and realm icons, each object with the metadata
 * Zulip's upload code sets ({@code realm_id}, {@code user_profile_id}). Objects are listed by
 * the realm's prefix, as Zulip's own export does, and read whole with one GET each (whose
 * answer carries the content type and metadata, so no HEAD is needed).
 */
final class S3UploadSource implements UploadSource {
    private final S3Client s3;
    private final boolean ownsClient;
    private final String uploadsBucket;
    private final String avatarBucket;

    S3UploadSource(S3Client s3, boolean ownsClient, String uploadsBucket, String avatarBucket) {
        this.s3 = s3;
        this.ownsClient = ownsClient;
        this.uploadsBucket = uploadsBucket;
        this.avatarBucket = avatarBucket;
    }

    @Override
    public String where(Area area) {
        return area == Area.UPLOADS ? uploadsBucket : avatarBucket;
    }

    @Override
    public SortedMap<String, UploadObject> list(Area area, String prefix) throws IOException {
        SortedMap<String, UploadObject> objects = new TreeMap<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(ListObjectsV2Request.builder()
                    .bucket(where(area)).prefix(prefix).build()).contents()) {
                objects.put(o.key(), new UploadObject(o.key(), o.size(), o.lastModified(), o.eTag()));
            }
        } catch (S3Exception e) {
            throw new IOException("cannot list s3://" + where(area) + "/" + prefix + ": "
                    + e.awsErrorDetails().errorMessage() + " (HTTP " + e.statusCode() + ")", e);
        }
        return objects;
    }

    @Override
    public Download open(Area area, String key) throws IOException {
        try {
            ResponseInputStream<GetObjectResponse> in = s3.getObject(GetObjectRequest.builder()
                    .bucket(where(area)).key(key).build());
            GetObjectResponse r = in.response();
            return new Download(in, r.contentType(), new TreeMap<>(r.metadata()));
        } catch (S3Exception e) {
            throw new IOException("cannot read s3://" + where(area) + "/" + key + ": "
                    + e.awsErrorDetails().errorMessage() + " (HTTP " + e.statusCode() + ")", e);
        }
    }

    @Override
    public boolean isS3() {
        return true;
    }

    @Override
    public void close() {
        if (ownsClient) {
            s3.close();
        }
    }
}
