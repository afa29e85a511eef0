package org.realmexport.common.storage.upload;

import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.storage.s3.S3Settings;

import java.nio.file.Path;

/**
 * The one place that decides where a Zulip server's uploads are read from: its S3 buckets when
 * {@code s3.uploads.bucket} is set (Zulip's {@code S3_AUTH_UPLOADS_BUCKET}, with
 * {@code s3.avatar.bucket}, its {@code S3_AVATAR_BUCKET}), else its {@code LOCAL_UPLOADS_DIR}
 * ({@code uploads.dir}), else none.
 */
public final class UploadSources {
    private UploadSources() {
    }

    /**
     * @return the source, or null when neither is configured (every referenced file then counts
     *         as missing, with that cause)
     * @throws IllegalArgumentException when only one of the two buckets is named
     */
    public static UploadSource open(RealmExportConfig config) {
        String uploads = config.getString(RealmExportConfig.S3_UPLOADS_BUCKET);
        String avatars = config.getString(RealmExportConfig.S3_AVATAR_BUCKET);
        if (blank(uploads) != blank(avatars)) {
            throw new IllegalArgumentException(RealmExportConfig.S3_UPLOADS_BUCKET + " and "
                    + RealmExportConfig.S3_AVATAR_BUCKET + " go together: Zulip keeps attachments in one bucket"
                    + " and avatars, emoji and realm icons in the other; set both");
        }
        if (!blank(uploads)) {
            return new S3UploadSource(S3Settings.of(config).client(), true, uploads, avatars);
        }
        String dir = config.getString(RealmExportConfig.UPLOADS_DIR);
        return blank(dir) ? null : local(Path.of(dir));
    }

    /** Zulip's LOCAL_UPLOADS_DIR. */
    public static UploadSource local(Path uploadsDir) {
        return new LocalUploadSource(uploadsDir);
    }

    /** Describes the configured source for messages: which setting names it. */
    public static String describe(UploadSource source) {
        if (source == null) {
            return "no uploads source (" + RealmExportConfig.UPLOADS_DIR + " or " + RealmExportConfig.S3_UPLOADS_BUCKET
                    + " is not set)";
        }
        return source.isS3() ? "S3 buckets " + source.where(UploadSource.Area.UPLOADS) + " and "
                + source.where(UploadSource.Area.AVATARS) : source.where(UploadSource.Area.UPLOADS);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
