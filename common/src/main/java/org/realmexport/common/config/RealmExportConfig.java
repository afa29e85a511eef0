package org.realmexport.common.config;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.realmexport.common.topic.Topics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Settings every service shares, declared as data with documented defaults (Kafka's
 * {@link ConfigDef}). Each service's config extends {@link #baseConfigDef()} with its own keys.
 * Keys that start with {@code kafka.} pass through unchanged to the Kafka clients
 * ({@code kafka.security.protocol=SSL} becomes {@code security.protocol=SSL}).
 */
public class RealmExportConfig extends AbstractConfig {
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String TOPIC_PREFIX = "topic.prefix";
    public static final String TASK_PARTITIONS = "task.partitions";
    public static final String REPLICATION_FACTOR = "replication.factor";
    public static final String JDBC_URL = "jdbc.url";
    public static final String JDBC_USER = "jdbc.user";
    public static final String JDBC_PASSWORD = "jdbc.password";
    public static final String UPLOADS_DIR = "uploads.dir";
    public static final String UPLOADS_ALLOW_MISSING = "uploads.allow.missing";
    public static final String S3_ENDPOINT = "s3.endpoint";
    public static final String S3_ACCESS_KEY = "s3.access.key";
    public static final String S3_SECRET_KEY = "s3.secret.key";
    public static final String S3_REGION = "s3.region";
    public static final String S3_PATH_STYLE = "s3.path.style.access";
    public static final String S3_MAX_ATTEMPTS = "s3.max.attempts";
    public static final String S3_ATTEMPT_TIMEOUT_MS = "s3.attempt.timeout.ms";
    public static final String S3_CALL_TIMEOUT_MS = "s3.call.timeout.ms";
    public static final String S3_PART_SIZE = "s3.part.size";
    public static final String S3_UPLOADS_BUCKET = "s3.uploads.bucket";
    public static final String S3_AVATAR_BUCKET = "s3.avatar.bucket";
    public static final String METRICS_PORT = "metrics.port";
    public static final String DB_RETRY_ATTEMPTS = "db.retry.attempts";
    public static final String DB_RETRY_BACKOFF_MS = "db.retry.backoff.ms";
    public static final String DB_RETRY_BACKOFF_MAX_MS = "db.retry.backoff.max.ms";
    public static final String KAFKA_PASSTHROUGH_PREFIX = "kafka.";

    /**
     * Environment variables that `realm-export stack` prints and docker-compose sets, and the
     * config key each fills. An explicit option always wins over the environment.
     */
    public static final Map<String, String> ENVIRONMENT = Map.ofEntries(
            Map.entry("KAFKA_BOOTSTRAP", BOOTSTRAP_SERVERS),
            Map.entry("JDBC_URL", JDBC_URL),
            Map.entry("JDBC_USER", JDBC_USER),
            Map.entry("JDBC_PASSWORD", JDBC_PASSWORD),
            Map.entry("S3_ENDPOINT", S3_ENDPOINT),
            Map.entry("S3_ACCESS_KEY", S3_ACCESS_KEY),
            Map.entry("S3_SECRET_KEY", S3_SECRET_KEY),
            Map.entry("S3_AUTH_UPLOADS_BUCKET", S3_UPLOADS_BUCKET),
            Map.entry("S3_AVATAR_BUCKET", S3_AVATAR_BUCKET),
            Map.entry("UPLOADS_DIR", UPLOADS_DIR),
            Map.entry("TOPIC_PREFIX", TOPIC_PREFIX));

    public static ConfigDef baseConfigDef() {
        return new ConfigDef()
                .define(BOOTSTRAP_SERVERS, Type.STRING, "localhost:9092", Importance.HIGH,
                        "Kafka bootstrap servers (env KAFKA_BOOTSTRAP).")
                .define(TOPIC_PREFIX, Type.STRING, Topics.DEFAULT_PREFIX, Importance.MEDIUM,
                        "Prefix of every topic and consumer group, so deployments can share a cluster.")
                .define(TASK_PARTITIONS, Type.INT, 12, ConfigDef.Range.atLeast(1), Importance.MEDIUM,
                        "Partitions of the task, result and status topics when they are created: the most workers that can"
                                + " share one export (a worker count that divides it gets equal shares of the work),"
                                + " and assembler instances that can share the exports.")
                .define(REPLICATION_FACTOR, Type.SHORT, (short) 1, Importance.LOW,
                        "Replication factor of topics created at start-up (3 in production).")
                .define(JDBC_URL, Type.STRING, null, Importance.HIGH,
                        "JDBC URL of Zulip's PostgreSQL (env JDBC_URL); may name a schema with currentSchema=zulip.")
                .define(JDBC_USER, Type.STRING, null, Importance.MEDIUM, "Database user, when not in the URL.")
                .define(JDBC_PASSWORD, Type.PASSWORD, null, Importance.MEDIUM, "Database password, when not in the URL.")
                .define(UPLOADS_DIR, Type.STRING, null, Importance.MEDIUM,
                        "Zulip's LOCAL_UPLOADS_DIR (env UPLOADS_DIR), for local-storage uploads.")
                .define(S3_UPLOADS_BUCKET, Type.STRING, null, Importance.MEDIUM,
                        "Zulip's S3_AUTH_UPLOADS_BUCKET (env S3_AUTH_UPLOADS_BUCKET), for S3-storage uploads:"
                                + " attachments are read from it (objects listed by the realm's prefix), and avatars,"
                                + " emoji and realm icons from s3.avatar.bucket. Takes precedence over uploads.dir.")
                .define(S3_AVATAR_BUCKET, Type.STRING, null, Importance.MEDIUM,
                        "Zulip's S3_AVATAR_BUCKET (env S3_AVATAR_BUCKET): avatars, custom emoji, realm icons and"
                                + " logos, when uploads are in S3 (set with s3.uploads.bucket).")
                .define(UPLOADS_ALLOW_MISSING, Type.BOOLEAN, false, Importance.MEDIUM,
                        "Export even when files the export refers to (uploads, uploaded avatars, custom emoji,"
                                + " realm icons) cannot be found, listing them under missing_files in stats.json."
                                + " By default such an export fails naming the first few.")
                .define(S3_ENDPOINT, Type.STRING, null, Importance.LOW, "S3 endpoint override (env S3_ENDPOINT).")
                .define(S3_ACCESS_KEY, Type.STRING, null, Importance.LOW, "S3 access key (env S3_ACCESS_KEY).")
                .define(S3_SECRET_KEY, Type.PASSWORD, null, Importance.LOW, "S3 secret key (env S3_SECRET_KEY).")
                .define(S3_REGION, Type.STRING, "us-east-1", Importance.LOW, "S3 region.")
                .define(S3_PATH_STYLE, Type.BOOLEAN, true, Importance.LOW,
                        "Path-style S3 requests (http://endpoint/bucket/key), as MinIO and most S3-compatible"
                                + " stores need; false for virtual-hosted-style (bucket.endpoint).")
                .define(S3_MAX_ATTEMPTS, Type.INT, 8, ConfigDef.Range.atLeast(1), Importance.LOW,
                        "Attempts per S3 call (the SDK's standard retry strategy: exponential backoff with jitter"
                                + " on 5xx, throttling, dropped connections and timed-out attempts).")
                .define(S3_ATTEMPT_TIMEOUT_MS, Type.LONG, 60_000L, ConfigDef.Range.atLeast(1), Importance.LOW,
                        "Longest one attempt of an S3 call may take (also the socket read timeout) before it is retried.")
                .define(S3_CALL_TIMEOUT_MS, Type.LONG, 600_000L, ConfigDef.Range.atLeast(1), Importance.LOW,
                        "Longest one S3 call may take, retries included.")
                .define(S3_PART_SIZE, Type.INT, 8 * 1024 * 1024, ConfigDef.Range.atLeast(5 * 1024 * 1024),
                        Importance.LOW, "Bytes of one multipart part (S3's minimum is 5 MiB): the memory an export"
                                + " file being written to S3 holds, and the size to which small tarball parts are"
                                + " grouped; larger parts are copied server-side.")
                .define(METRICS_PORT, Type.INT, -1, Importance.LOW,
                        "Port of the Prometheus /metrics endpoint; -1 serves none, 0 picks a free port.")
                .define(DB_RETRY_ATTEMPTS, Type.INT, 8, ConfigDef.Range.atLeast(1), Importance.MEDIUM,
                        "Attempts at a task, a plan or a finalization whose database error is transient (connection"
                                + " lost or refused, server restarting, serialization failure, pool timeout) before it"
                                + " fails the export with the last error. Other errors fail at the first attempt.")
                .define(DB_RETRY_BACKOFF_MS, Type.LONG, 500L, ConfigDef.Range.atLeast(0), Importance.LOW,
                        "Wait before the second attempt after a transient database error; it doubles for each further one.")
                .define(DB_RETRY_BACKOFF_MAX_MS, Type.LONG, 10_000L, ConfigDef.Range.atLeast(0), Importance.LOW,
                        "Longest wait between two attempts after transient database errors.");
    }

    public RealmExportConfig(ConfigDef definition, Map<?, ?> originals) {
        super(definition, originals, false);
    }

    /**
     * Creates the topics that are missing, with this configuration's partitions and replication,
     * and returns the partition count of the two task topics as they are now (an existing topic
     * keeps its own count, which may differ from {@code task.partitions}).
     */
    public Map<String, Integer> ensureTopics() {
        try (Admin admin = Admin.create(kafkaProperties())) {
            Topics topics = topics();
            topics.ensureCreated(admin, getInt(TASK_PARTITIONS), getShort(REPLICATION_FACTOR));
            return Topics.partitionCounts(admin, List.of(topics.configTasks(), topics.shardTasks()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    public Topics topics() {
        return new Topics(getString(TOPIC_PREFIX));
    }

    /** Kafka client properties: bootstrap servers plus every {@code kafka.*} pass-through key. */
    public Properties kafkaProperties() {
        Properties props = new Properties();
        props.put("bootstrap.servers", getString(BOOTSTRAP_SERVERS));
        props.putAll(originalsWithPrefix(KAFKA_PASSTHROUGH_PREFIX, true));
        return props;
    }

    /**
     * {@link #kafkaProperties()} for a consumer that only reads or asks for offsets (a lag meter, a
     * start-up check) and commits nothing.
     */
    public Properties readerProperties(String clientId) {
        Properties props = kafkaProperties();
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        return props;
    }

    /** Settings from the environment, for the keys {@link #ENVIRONMENT} maps. */
    public static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> out = new HashMap<>();
        ENVIRONMENT.forEach((var, key) -> {
            String value = env.get(var);
            if (value != null && !value.isBlank()) {
                out.put(key, value);
            }
        });
        return out;
    }
}
