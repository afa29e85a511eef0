package org.realmexport.common.storage.s3;

import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.StoredFile;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A file written to S3 as kafka-connect-storage-cloud's S3OutputStream writes one: the bytes
 * fill one part in memory; a full part starts (or continues) a multipart upload; commit uploads
 * the rest and completes it, so the object appears whole (a file of less than one part is one
 * PutObject); closing uncommitted aborts the upload, leaving nothing. Size and sha256 are
 * computed as the bytes go by.
 */
final class S3OutputFile implements StoredFile {
    private final S3Client s3;
    private final String bucket;
    private final String key;
    private final MessageDigest digest = Sha256.digest();
    private final int partSize;
    /** Grows up to one part: most export files are far smaller than a part. */
    private byte[] part = new byte[64 * 1024];
    private final List<CompletedPart> parts = new ArrayList<>();
    private final OutputStream out = new Stream();
    private int filled;
    private long size;
    private String uploadId;
    private boolean done;

    S3OutputFile(S3Client s3, String bucket, String key, int partSize) {
        this.s3 = s3;
        this.bucket = bucket;
        this.key = key;
        this.partSize = partSize;
    }

    @Override
    public OutputStream stream() {
        return out;
    }

    @Override
    public Written commit() throws IOException {
        if (done) {
            throw new IOException("s3://" + bucket + "/" + key + " is already committed or discarded");
        }
        try {
            if (uploadId == null) {
                byte[] bytes = Arrays.copyOf(part, filled);
                s3.putObject(b -> b.bucket(bucket).key(key).contentLength((long) bytes.length),
                        RequestBody.fromBytes(bytes));
            } else {
                if (filled > 0 || parts.isEmpty()) {
                    uploadPart();
                }
                String id = uploadId;
                s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(id)
                        .multipartUpload(m -> m.parts(parts)));
                uploadId = null;
            }
        } catch (SdkException e) {
            throw S3Errors.io("write", bucket, key, e);
        }
        done = true;
        return new Written(size, Sha256.hex(digest));
    }

    @Override
    public void close() {
        done = true;
        if (uploadId != null) {
            abortQuietly(s3, bucket, key, uploadId);
            uploadId = null;
        }
    }

    /** Aborts a multipart upload, so that its parts are not kept (and billed); failures are left to the bucket's lifecycle. */
    static void abortQuietly(S3Client s3, String bucket, String key, String uploadId) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
        } catch (SdkException e) {
            // nothing to do: an abandoned upload is invisible, and the bucket lifecycle removes it
        }
    }

    private void uploadPart() throws IOException {
        try {
            if (uploadId == null) {
                uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
            }
            int number = parts.size() + 1;
            byte[] bytes = Arrays.copyOf(part, filled);
            String id = uploadId;
            String eTag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(id).partNumber(number)
                    .contentLength((long) bytes.length), RequestBody.fromBytes(bytes)).eTag();
            parts.add(CompletedPart.builder().partNumber(number).eTag(eTag).build());
            filled = 0;
        } catch (SdkException e) {
            throw S3Errors.io("write", bucket, key, e);
        }
    }

    private final class Stream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (done) {
                throw new IOException("s3://" + bucket + "/" + key + " is already committed or discarded");
            }
            digest.update(b, off, len);
            size += len;
            while (len > 0) {
                if (filled == part.length && part.length < partSize) {
                    part = Arrays.copyOf(part, (int) Math.min(partSize, 2L * part.length));
                }
                int n = Math.min(len, part.length - filled);
                System.arraycopy(b, off, part, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == partSize) {
                    uploadPart();
                }
            }
        }
    }
}
