/**
 * Reading a Zulip server's uploaded files, wherever it keeps them: {@link
 * org.realmexport.common.storage.upload.UploadSource} (its LOCAL_UPLOADS_DIR or its S3 upload and
 * avatar buckets, in Zulip's key layout), chosen by {@link org.realmexport.common.storage.upload.UploadSources}.
 */
package org.realmexport.common.storage.upload;
