package org.realmexport.localstack;

import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An S3-compatible server (s3proxy) on 127.0.0.1 storing objects as files under a directory,
 * so that a demo export of a gigabyte does not live on the heap. Buckets are created by clients.
 */
final class EmbeddedS3Server implements AutoCloseable {
    /** Fixed demo credentials for this local server only; they open nothing else. */
    static final String ACCESS_KEY = "realm-export-local";
    static final String SECRET_KEY = "realm-export-local-secret";
    private static final long START_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(30);

    private final S3Proxy proxy;
    private final String endpoint;
    private volatile boolean closed;

    private EmbeddedS3Server(S3Proxy proxy, String endpoint) {
        this.proxy = proxy;
        this.endpoint = endpoint;
    }

    static EmbeddedS3Server start(Path dataDir) throws Exception {
        Files.createDirectories(dataDir);
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(new FilesystemNio2BlobStore(dataDir.toString()))
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .jettyMaxThreads(16)
                // No graceful stop: Jetty would wait (default 30 s) for idle keep-alive connections,
                // which the JDK's HttpURLConnection cache keeps open after an S3 client is closed.
                .stopTimeout(0)
                .build();
        proxy.start();
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.currentTimeMillis() > deadline) {
                proxy.stop();
                throw new IllegalStateException("s3proxy did not start within " + START_TIMEOUT_MS + " ms (state "
                        + proxy.getState() + ")");
            }
            Thread.sleep(5);
        }
        return new EmbeddedS3Server(proxy, "http://127.0.0.1:" + proxy.getPort());
    }

    String endpoint() {
        return endpoint;
    }

    @Override
    public void close() throws Exception {
        if (closed) {
            return;
        }
        closed = true;
        proxy.stop();
    }
}
