package org.realmexport.common.storage.s3;

import org.realmexport.common.storage.Sha256;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.StorePaths;
import org.realmexport.common.storage.StoredFile;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An export directory under an S3 prefix: {@code s3://bucket/prefix/zulip-export-<id>/<path>},
 * the tarball {@code s3://bucket/prefix/zulip-export-<id>.tar.gz}. Only the tarball parts and the
 * tarball are kept (no plain copy of each file: every byte is uploaded once). Files are written
 * by {@link S3OutputFile} (one part in memory at a time, published by completing the upload); the
 * tarball is assembled by a multipart upload whose large parts are copied server-side.
 */
public final class S3ExportStore implements ExportStore {
    /** The largest part UploadPartCopy takes. */
    private static final long MAX_COPY = 5L * 1024 * 1024 * 1024;
    private final S3Client s3;
    private final URI location;
    private final String bucket;
    private final String root;
    private final S3Settings settings;

    public S3ExportStore(S3Client s3, URI exportDirectory, S3Settings settings) {
        this.s3 = s3;
        this.location = exportDirectory;
        this.bucket = exportDirectory.getHost() != null ? exportDirectory.getHost() : exportDirectory.getAuthority();
        String path = exportDirectory.getPath() == null ? "" : exportDirectory.getPath();
        while (path.startsWith("/")) {
            path = path.substring(1);
        }
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        this.root = StorePaths.check(path);
        this.settings = settings;
    }

    @Override
    public URI location() {
        return location;
    }

    @Override
    public boolean keepsPlainFiles() {
        return false;
    }

    @Override
    public StoredFile create(String path, boolean durable) {
        return new S3OutputFile(s3, bucket, key(path), settings.partSize());
    }

    @Override
    public void sync(Collection<String> paths) {
        // an object is durable once its upload completes
    }

    @Override
    public InputStream open(String path) throws IOException {
        String key = key(path);
        try {
            return s3.getObject(b -> b.bucket(bucket).key(key));
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException(uri(key), null, "no such object");
        } catch (SdkException e) {
            throw S3Errors.io("read", bucket, key, e);
        }
    }

    @Override
    public SortedMap<String, Long> list(String prefix) throws IOException {
        SortedMap<String, Long> files = new TreeMap<>();
        String keyPrefix = root + "/" + prefix;
        try {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(keyPrefix)).contents()) {
                files.put(o.key().substring(root.length() + 1), o.size());
            }
        } catch (SdkException e) {
            throw S3Errors.io("list", bucket, keyPrefix, e);
        }
        return files;
    }

    /**
     * One multipart upload: inline pieces and small stored ones are gathered into a part of
     * {@code s3.part.size} bytes in memory; a stored piece large enough to stand as a part
     * (5 MiB) is copied server-side (UploadPartCopy), after the gathered bytes are flushed
     * (topped up from the start of that piece by a ranged read when they are under 5 MiB). The
     * sha256 is then computed by reading the tarball once: S3 cannot combine sha256s of parts.
     */
    @Override
    public Assembled assemble(List<Piece> pieces) throws IOException {
        String key = root + ".tar.gz";
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key).contentType("application/gzip")).uploadId();
        } catch (SdkException e) {
            throw S3Errors.io("start the upload of", bucket, key, e);
        }
        boolean completed = false;
        try {
            Parts parts = new Parts(key, uploadId);
            for (Piece piece : pieces) {
                if (piece instanceof Inline inline) {
                    parts.gather(inline.bytes(), 0, inline.bytes().length);
                } else if (piece instanceof Stored stored) {
                    parts.add(stored);
                }
            }
            parts.flush(true);
            List<CompletedPart> done = parts.completed;
            if (done.isEmpty()) {
                throw new IOException("no bytes to assemble into " + uri(key));
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(done)));
            completed = true;
        } catch (SdkException e) {
            throw S3Errors.io("assemble", bucket, key, e);
        } finally {
            if (!completed) {
                S3OutputFile.abortQuietly(s3, bucket, key, uploadId);
            }
        }
        MessageDigest sha256 = Sha256.digest();
        long size = 0;
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(key))) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha256.update(buffer, 0, n);
                size += n;
            }
        } catch (SdkException e) {
            throw S3Errors.io("read back", bucket, key, e);
        }
        return new Assembled(URI.create(uri(key)), size, Sha256.hex(sha256));
    }

    /** The parts of the tarball's upload, numbered in order. */
    private final class Parts {
        private final String key;
        private final String uploadId;
        private final List<CompletedPart> completed = new ArrayList<>();
        private final ByteArrayOutputStream gathered = new ByteArrayOutputStream();

        Parts(String key, String uploadId) {
            this.key = key;
            this.uploadId = uploadId;
        }

        void add(Stored piece) throws IOException {
            String source = key(piece.path());
            long offset = 0;
            if (piece.size() >= S3Settings.MIN_PART_SIZE) {
                if (gathered.size() > 0 && gathered.size() < S3Settings.MIN_PART_SIZE) {
                    // top the gathered bytes up to a valid part from the head of this piece
                    long need = S3Settings.MIN_PART_SIZE - gathered.size();
                    if (piece.size() - need >= S3Settings.MIN_PART_SIZE) {
                        readInto(source, 0, need);
                        offset = need;
                    }
                }
                if (gathered.size() == 0 || gathered.size() >= S3Settings.MIN_PART_SIZE) {
                    flush(false);
                    // server-side copies of at most 5 GiB each (S3's limit), none but the last under 5 MiB
                    while (piece.size() - offset >= S3Settings.MIN_PART_SIZE) {
                        long left = piece.size() - offset;
                        long length = Math.min(left, MAX_COPY);
                        if (left - length > 0 && left - length < S3Settings.MIN_PART_SIZE) {
                            length -= S3Settings.MIN_PART_SIZE;
                        }
                        copy(source, offset, length);
                        offset += length;
                    }
                }
            }
            readInto(source, offset, piece.size() - offset);
        }

        private void copy(String source, long from, long length) throws IOException {
            int number = completed.size() + 1;
            String range = "bytes=" + from + "-" + (from + length - 1);
            try {
                var copied = s3.uploadPartCopy(b -> b.sourceBucket(bucket).sourceKey(source)
                        .destinationBucket(bucket).destinationKey(key).uploadId(uploadId).partNumber(number)
                        .copySourceRange(range));
                completed.add(CompletedPart.builder().partNumber(number).eTag(copied.copyPartResult().eTag()).build());
            } catch (NoSuchKeyException e) {
                throw new NoSuchFileException(uri(source), null, "a part of the tarball is missing");
            }
        }

        /** Appends a range of a stored piece to the gathered bytes, uploading full parts as they fill. */
        private void readInto(String source, long from, long length) throws IOException {
            if (length == 0) {
                return;
            }
            String range = "bytes=" + from + "-" + (from + length - 1);
            long read = 0;
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(source).range(range))) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    gather(buffer, 0, n);
                    read += n;
                }
            } catch (NoSuchKeyException e) {
                throw new NoSuchFileException(uri(source), null, "a part of the tarball is missing");
            }
            if (read != length) {
                throw new IOException(uri(source) + " gave " + read + " bytes instead of " + length
                        + ": it changed while the tarball was assembled");
            }
        }

        void gather(byte[] bytes, int off, int len) {
            gathered.write(bytes, off, len);
            if (gathered.size() >= settings.partSize()) {
                flush(false);
            }
        }

        /** Uploads the gathered bytes as the next part (only the last part may be under 5 MiB). */
        void flush(boolean last) {
            if (gathered.size() == 0 || (!last && gathered.size() < S3Settings.MIN_PART_SIZE)) {
                return;
            }
            int number = completed.size() + 1;
            byte[] bytes = gathered.toByteArray();
            gathered.reset();
            String eTag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                    .contentLength((long) bytes.length), RequestBody.fromBytes(bytes)).eTag();
            completed.add(CompletedPart.builder().partNumber(number).eTag(eTag).build());
        }
    }

    @Override
    public void close() {
        // the client is the factory's, closed with it
    }

    private String key(String path) {
        return root + "/" + StorePaths.check(path);
    }

    private String uri(String key) {
        return "s3://" + bucket + "/" + key;
    }

    @Override
    public String toString() {
        return location.toString();
    }
}
