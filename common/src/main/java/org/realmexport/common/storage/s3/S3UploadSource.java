package org.realmexport.common.storage.s3;

import org.realmexport.common.storage.StorePaths;
import org.realmexport.common.storage.UploadObject;
import org.realmexport.common.storage.UploadSource;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Zulip's S3 upload backend: attachments in the upload bucket, avatars, emoji, realm icons and
 * logos in the avatar bucket, listed by realm prefix. Each object is checked as Zulip's
 * export_files_from_s3 means to, but failing the export with the key named instead of crashing:
 * realm_id metadata required (every object) and user_profile_id (every object but realm icons and
 * logos, which an organization imported from a local export has without one), realm_id equal to
 * the realm's unless the email gateway bot uploaded it, no '..' in the key, uploads three levels
 * deep.
 */
public final class S3UploadSource implements UploadSource {
    private final S3Client s3;
    private final String uploadBucket;
    private final String avatarBucket;
    private final OptionalLong emailGatewayBotId;

    /** @param emailGatewayBotId the user id of Zulip's EMAIL_GATEWAY_BOT, whose uploads may belong to another realm */
    public S3UploadSource(S3Client s3, String uploadBucket, String avatarBucket, OptionalLong emailGatewayBotId) {
        this.s3 = s3;
        this.uploadBucket = uploadBucket;
        this.avatarBucket = avatarBucket;
        this.emailGatewayBotId = emailGatewayBotId;
    }

    private String bucket(Category category) {
        return category == Category.UPLOADS ? uploadBucket : avatarBucket;
    }

    @Override
    public List<UploadObject> list(Category category, long realmId) throws IOException {
        String bucket = bucket(category);
        List<UploadObject> objects = new ArrayList<>();
        try {
            for (S3Object listed : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(category.prefix(realmId)))
                    .contents()) {
                String key = listed.key();
                if (!category.holds(key)) {
                    continue;
                }
                checkKey(category, bucket, key);
                HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key(key));
                Map<String, String> metadata = new TreeMap<>(head.metadata());
                checkMetadata(category, realmId, bucket, key, metadata);
                objects.add(new UploadObject(category, bucket, key, head.contentLength(), head.lastModified(),
                        head.contentType(), unquote(head.eTag()), metadata));
            }
        } catch (SdkException e) {
            throw S3Errors.io("list", bucket, category.prefix(realmId), e);
        }
        objects.sort(Comparator.comparing(UploadObject::key));
        return objects;
    }

    @Override
    public InputStream open(UploadObject object) throws IOException {
        try {
            return s3.getObject(r -> r.bucket(object.bucket()).key(object.key()));
        } catch (SdkException e) {
            throw S3Errors.io("read", object.bucket(), object.key(), e);
        }
    }

    static void checkKey(Category category, String bucket, String key) throws InvalidUpload {
        try {
            StorePaths.check(key);
        } catch (IllegalArgumentException e) {
            throw new InvalidUpload("s3://" + bucket + "/" + key + ": refused, " + e.getMessage());
        }
        if (category == Category.UPLOADS && key.split("/").length != 3) {
            throw new InvalidUpload("s3://" + bucket + "/" + key
                    + ": refused, an upload's key is <realm_id>/<random>/<file name>");
        }
    }

    void checkMetadata(Category category, long realmId, String bucket, String key, Map<String, String> metadata)
            throws InvalidUpload {
        String where = "s3://" + bucket + "/" + key;
        String realm = metadata.get("realm_id");
        String user = metadata.get("user_profile_id");
        if (realm == null) {
            throw new InvalidUpload(where + ": the object has no realm_id metadata (Zulip's upload backend sets it):"
                    + " set it with the realm's id, or remove the object");
        }
        if (user == null && category != Category.REALM_ICONS) {
            throw new InvalidUpload(where + ": the object has no user_profile_id metadata (Zulip's upload backend"
                    + " sets it): set it with the uploader's id, or remove the object");
        }
        if (!realm.equals(Long.toString(realmId))) {
            boolean gatewayBot = user != null && emailGatewayBotId.isPresent()
                    && user.equals(Long.toString(emailGatewayBotId.getAsLong()));
            if (!gatewayBot) {
                throw new InvalidUpload(where + ": its realm_id metadata is " + realm + " but it lies under realm "
                        + realmId + "'s prefix: fix the object's metadata or move it");
            }
        }
    }

    private static String unquote(String etag) {
        return etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
                ? etag.substring(1, etag.length() - 1) : etag;
    }

    /** The client belongs to whoever made it. */
    @Override
    public void close() {
    }
}
