package org.realmexport.common.storage.s3;

import org.realmexport.common.config.RealmExportConfig;
import org.apache.kafka.common.config.types.Password;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

import java.net.URI;
import java.time.Duration;

/**
 * The S3 client every S3 reader and writer of the project uses, from the {@code s3.*} keys:
 * endpoint override, region, path-style access (MinIO, s3proxy and other S3-compatible stores),
 * credentials from the config or else the SDK's default chain (environment, profile, instance
 * role), and the SDK's standard retry strategy: exponential backoff with jitter on 5xx answers,
 * throttling, I/O errors (a dropped connection) and timed-out attempts, up to
 * {@code s3.max.attempts} attempts per call.
 *
 * <p>The secret key is held as Kafka's {@link Password} and handed to the SDK only: it is never
 * printed, logged or put in a record ({@link #toString} leaves it out).
 *
 * @param partSize bytes of one multipart part (at least S3's 5 MiB minimum): the memory a file
 *                 being written holds, and the size to which small tarball parts are grouped
 */
public record S3Settings(String endpoint, String region, String accessKey, Password secretKey,
                         boolean pathStyle, int maxAttempts, Duration attemptTimeout, Duration callTimeout,
                         int partSize) {
    /** S3's smallest multipart part (the last part excepted). */
    public static final int MIN_PART_SIZE = 5 * 1024 * 1024;

    public static S3Settings of(RealmExportConfig config) {
        return new S3Settings(config.getString(RealmExportConfig.S3_ENDPOINT),
                config.getString(RealmExportConfig.S3_REGION),
                config.getString(RealmExportConfig.S3_ACCESS_KEY),
                config.getPassword(RealmExportConfig.S3_SECRET_KEY),
                config.getBoolean(RealmExportConfig.S3_PATH_STYLE),
                config.getInt(RealmExportConfig.S3_MAX_ATTEMPTS),
                Duration.ofMillis(config.getLong(RealmExportConfig.S3_ATTEMPT_TIMEOUT_MS)),
                Duration.ofMillis(config.getLong(RealmExportConfig.S3_CALL_TIMEOUT_MS)),
                config.getInt(RealmExportConfig.S3_PART_SIZE));
    }

    /** A new client; the caller closes it. */
    public S3Client client() {
        ClientOverrideConfiguration overrides = ClientOverrideConfiguration.builder()
                .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                        .maxAttempts(maxAttempts)
                        // no circuit breaker: an export would rather wait out a bad minute than fail
                        .circuitBreakerEnabled(false)
                        .backoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(100), Duration.ofSeconds(20)))
                        .throttlingBackoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(500),
                                Duration.ofSeconds(20)))
                        .build())
                .apiCallAttemptTimeout(attemptTimeout)
                .apiCallTimeout(callTimeout)
                .build();
        var builder = S3Client.builder()
                .region(Region.of(region))
                .credentialsProvider(credentials())
                .overrideConfiguration(overrides)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(pathStyle).build())
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(attemptTimeout));
        if (endpoint != null && !endpoint.isBlank()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }

    private AwsCredentialsProvider credentials() {
        if (accessKey != null && !accessKey.isBlank() && secretKey != null && secretKey.value() != null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey.value()));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", pathStyle=" + pathStyle
                + ", maxAttempts=" + maxAttempts + ", partSize=" + partSize + "]";
    }
}
