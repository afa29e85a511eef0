package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.realmexport.common.Json;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.S3UploadsPublisher;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** The S3 side of {@code demo --storage s3}: uploads into Zulip's buckets, the export into a bucket, a copy back. */
final class DemoS3 {
    static final String UPLOADS_BUCKET = "zulip-uploads";
    static final String AVATAR_BUCKET = "zulip-avatars";
    static final String EXPORT_BUCKET = "realm-exports";

    private DemoS3() {
    }

    private static S3Client client(EmbeddedStack stack) {
        return S3Client.builder().endpointOverride(URI.create(stack.s3Endpoint())).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(stack.s3AccessKey(), stack.s3SecretKey())))
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .build();
    }

    /**
     * Puts the generated uploads into the embedded S3 server as a Zulip server with S3 storage
     * keeps them, points {@code cfg} at those buckets (and not at the uploads directory), and
     * returns where the export goes.
     */
    static URI prepare(EmbeddedStack stack, GeneratedRealms realms, Map<String, Object> cfg, PrintWriter err)
            throws IOException, SQLException {
        try (S3Client s3 = client(stack)) {
            S3UploadsPublisher.Published put = S3UploadsPublisher.publish(stack.uploadsDir(), stack.jdbcUrl(),
                    realms.avatarSalt(), s3, UPLOADS_BUCKET, AVATAR_BUCKET);
            s3.createBucket(b -> b.bucket(EXPORT_BUCKET));
            err.printf("put %,d uploads into s3://%s and %,d avatars, emoji and icons into s3://%s%n",
                    put.uploads(), UPLOADS_BUCKET, put.avatars(), AVATAR_BUCKET);
        }
        cfg.put(RealmExportConfig.S3_ENDPOINT, stack.s3Endpoint());
        cfg.put(RealmExportConfig.S3_ACCESS_KEY, stack.s3AccessKey());
        cfg.put(RealmExportConfig.S3_SECRET_KEY, stack.s3SecretKey());
        cfg.put(RealmExportConfig.S3_UPLOADS_BUCKET, UPLOADS_BUCKET);
        cfg.put(RealmExportConfig.S3_AVATAR_BUCKET, AVATAR_BUCKET);
        return URI.create("s3://" + EXPORT_BUCKET + "/demo");
    }

    /** Downloads the exported tarball ({@code s3://bucket/key}) into {@code dir}, to look at and verify. */
    static Path download(EmbeddedStack stack, String location, Path dir, PrintWriter err) throws IOException {
        URI uri = URI.create(location);
        String key = uri.getPath().substring(1);
        Path target = dir.resolve(key.substring(key.lastIndexOf('/') + 1));
        Files.deleteIfExists(target);
        try (S3Client s3 = client(stack)) {
            s3.getObject(b -> b.bucket(uri.getHost()).key(key), ResponseTransformer.toFile(target));
        }
        err.printf("the export is %s; downloaded a copy to %s%n", location, target);
        return target;
    }

    /** The manifest.json of an export's tarball. */
    static JsonNode manifest(Path tarball) throws IOException {
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tarball)));
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                if (e.getName().endsWith("/manifest.json") && e.getName().indexOf('/') == e.getName().lastIndexOf('/')) {
                    return Json.MAPPER.readTree(tar.readAllBytes());
                }
            }
        }
        throw new IOException(tarball + " holds no manifest.json");
    }
}
