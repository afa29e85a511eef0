package org.realmexport.common.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Where Zulip keeps a realm's uploaded files: its {@code LOCAL_UPLOADS_DIR}, or its S3 upload
 * and avatar buckets. Both lay the files out under the same keys (Zulip's upload backends), so an
 * {@link UploadObject}'s key is the export's path in either case:
 * <pre>
 * category     local                            S3
 * UPLOADS      files/&lt;realm&gt;/&lt;xx&gt;/&lt;name&gt;         upload bucket  &lt;realm&gt;/&lt;xx&gt;/&lt;name&gt;
 * AVATARS      avatars/&lt;realm&gt;/&lt;hash&gt;.*           avatar bucket  &lt;realm&gt;/&lt;hash&gt;.* (right under the realm)
 * EMOJI        avatars/&lt;realm&gt;/emoji/images/...    avatar bucket  &lt;realm&gt;/emoji/images/...
 * REALM_ICONS  avatars/&lt;realm&gt;/realm/...           avatar bucket  &lt;realm&gt;/realm/...
 * </pre>
 */
public interface UploadSource extends Closeable {
    enum Category {
        UPLOADS(""), AVATARS(""), EMOJI("emoji/images/"), REALM_ICONS("realm/");

        private final String underRealm;

        Category(String underRealm) {
            this.underRealm = underRealm;
        }

        /** The key prefix of a realm's objects of this category (avatars: every object of the realm). */
        public String prefix(long realmId) {
            return realmId + "/" + underRealm;
        }

        /** Whether a key under {@link #prefix} is of this category: avatars lie right under the realm's prefix. */
        public boolean holds(String key) {
            return this != AVATARS || key.indexOf('/') == key.lastIndexOf('/');
        }
    }

    /**
     * The realm's objects of one category, sorted by key.
     *
     * @throws InvalidUpload for an object the export must not take (a bad key, missing or foreign metadata)
     */
    List<UploadObject> list(Category category, long realmId) throws IOException;

    /** The object's bytes. */
    InputStream open(UploadObject object) throws IOException;

    /** An object that fails the export; the message names its key. */
    final class InvalidUpload extends IOException {
        public InvalidUpload(String message) {
            super(message);
        }
    }
}
