package org.realmexport.localstack;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One full stack, exercised part by part through the same clients the services use. */
class EmbeddedStackTest {
    static EmbeddedStack stack;

    @BeforeAll
    static void startStack() {
        stack = EmbeddedStack.builder().start();
        System.out.printf("embedded stack (all four parts) started in %d ms%n", stack.startupTime().toMillis());
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void kafkaCreatesTopicsAndRoundTripsRecords() throws Exception {
        assertThat(stack.kafkaBootstrap()).matches("127\\.0\\.0\\.1:\\d+");
        KafkaRoundTrip.produceAndConsume(stack.kafkaBootstrap(), "round-trip");
    }

    @Test
    void kafkaTransactionsCommitAndAbortAlongWithConsumerOffsets() throws Exception {
        String bootstrap = stack.kafkaBootstrap();
        KafkaRoundTrip.createTopic(bootstrap, "tx-in", 1);
        KafkaRoundTrip.createTopic(bootstrap, "tx-out", 2);
        KafkaRoundTrip.produce(bootstrap, "tx-in", Map.of("a", "task-a", "b", "task-b"));

        // consume -> produce -> commit offsets in one transaction, as the shard workers do
        Map<String, Object> txConfig = KafkaRoundTrip.producerConfig(bootstrap);
        txConfig.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "worker-1");
        try (KafkaConsumer<String, String> tasks = new KafkaConsumer<>(
                     KafkaRoundTrip.consumerConfig(bootstrap, "workers", "read_committed"));
             KafkaProducer<String, String> producer = new KafkaProducer<>(txConfig)) {
            tasks.subscribe(List.of("tx-in"));
            List<ConsumerRecord<String, String>> read = KafkaRoundTrip.pollUntil(tasks, values -> values.size() >= 2);
            producer.initTransactions();

            producer.beginTransaction();
            for (ConsumerRecord<String, String> task : read) {
                producer.send(new ProducerRecord<>("tx-out", task.key(), "committed-" + task.key()));
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            offsets.put(new TopicPartition("tx-in", 0), new OffsetAndMetadata(read.get(read.size() - 1).offset() + 1));
            producer.sendOffsetsToTransaction(offsets, tasks.groupMetadata());
            producer.commitTransaction();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>("tx-out", "a", "aborted")).get();
            producer.abortTransaction();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>("tx-out", "b", "last"));
            producer.commitTransaction();
        }

        List<String> committed = KafkaRoundTrip.consumeValues(bootstrap, "tx-out", "read_committed",
                values -> values.contains("last"));
        assertThat(committed).containsExactlyInAnyOrder("committed-a", "committed-b", "last");
        // the aborted record was written; only the isolation level hides it
        List<String> everything = KafkaRoundTrip.consumeValues(bootstrap, "tx-out", "read_uncommitted",
                values -> values.size() >= 4);
        assertThat(everything).containsExactlyInAnyOrder("committed-a", "committed-b", "aborted", "last");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Map<TopicPartition, OffsetAndMetadata> groupOffsets =
                    admin.listConsumerGroupOffsets("workers").partitionsToOffsetAndMetadata().get();
            assertThat(groupOffsets.get(new TopicPartition("tx-in", 0)).offset()).isEqualTo(2);
        }
    }

    @Test
    void postgresIsShapedLikeZulipsWithAnEmptySchemaOwnedByZulip() throws SQLException {
        assertThat(stack.jdbcUrl()).matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/zulip\\?user=zulip&currentSchema=zulip");
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement s = c.createStatement()) {
            assertThat(single(s, "SHOW wal_level")).isEqualTo("logical");
            assertThat(Integer.parseInt(single(s, "SHOW max_replication_slots"))).isPositive();
            assertThat(Integer.parseInt(single(s, "SHOW max_wal_senders"))).isPositive();
            assertThat(single(s, "SELECT current_user")).isEqualTo("zulip");
            assertThat(single(s, "SELECT current_database()")).isEqualTo("zulip");
            assertThat(single(s, "SELECT current_schema()")).isEqualTo("zulip");
            assertThat(single(s, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'zulip'")).isEqualTo("zulip");
            assertThat(single(s, "SELECT datdba::regrole::text FROM pg_database WHERE datname = 'zulip'")).isEqualTo("zulip");
            assertThat(single(s, "SELECT count(*) FROM pg_class WHERE relnamespace = 'zulip'::regnamespace")).isEqualTo("0");
            assertThat(single(s, "SELECT rolreplication AND NOT rolsuper FROM pg_roles WHERE rolname = 'zulip'")).isEqualTo("t");
            assertThat(single(s, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'zulip'")).isEqualTo("UTF8");
        }
        try (Connection c = DriverManager.getConnection(stack.adminJdbcUrl()); Statement s = c.createStatement()) {
            assertThat(single(s, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).isEqualTo("t");
            assertThat(single(s, "SELECT current_database()")).isEqualTo("zulip");
            assertThat(single(s, "SELECT current_schema()")).isEqualTo("zulip");
        }
    }

    @Test
    void postgresDecodesChangesThroughALogicalSlotWithPgoutput() throws SQLException {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement s = c.createStatement()) {
            try {
                s.execute("CREATE TABLE slot_probe (id int PRIMARY KEY, note text)");
                s.execute("CREATE PUBLICATION slot_probe_pub FOR TABLE slot_probe");
                s.execute("SELECT pg_create_logical_replication_slot('slot_probe', 'pgoutput')");
                s.execute("INSERT INTO slot_probe VALUES (1, 'hello')");
                // pgoutput's binary messages: B(egin), R(elation), I(nsert), C(ommit)
                List<String> kinds = new ArrayList<>();
                try (ResultSet rs = s.executeQuery("SELECT data FROM pg_logical_slot_get_binary_changes('slot_probe',"
                        + " NULL, NULL, 'proto_version', '1', 'publication_names', 'slot_probe_pub')")) {
                    while (rs.next()) {
                        kinds.add(String.valueOf((char) rs.getBytes(1)[0]));
                    }
                }
                assertThat(kinds).containsExactly("B", "R", "I", "C");
            } finally {
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'slot_probe'");
                s.execute("DROP PUBLICATION IF EXISTS slot_probe_pub");
                s.execute("DROP TABLE IF EXISTS slot_probe");
            }
        }
    }

    @Test
    void postgresAcceptsReplicationConnectionsFromZulip() throws SQLException {
        // What Debezium does: a walsender connection that creates a pgoutput slot.
        Properties props = new Properties();
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), props)) {
            PGConnection pg = c.unwrap(PGConnection.class);
            pg.getReplicationAPI().createReplicationSlot().logical()
                    .withSlotName("debezium_probe").withOutputPlugin("pgoutput").make();
        }
        try (Connection c = DriverManager.getConnection(stack.adminJdbcUrl()); Statement s = c.createStatement()) {
            assertThat(single(s, "SELECT plugin FROM pg_replication_slots WHERE slot_name = 'debezium_probe'")).isEqualTo("pgoutput");
            s.execute("SELECT pg_drop_replication_slot('debezium_probe')");
        }
    }

    @Test
    void s3StoresListsAndReturnsObjectsAndChecksCredentials() throws Exception {
        assertThat(stack.s3Endpoint()).matches("http://127\\.0\\.0\\.1:\\d+");
        byte[] big = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(big);
        try (S3Client s3 = s3Client(stack.s3AccessKey(), stack.s3SecretKey())) {
            s3.createBucket(b -> b.bucket("exports"));
            s3.putObject(b -> b.bucket("exports").key("zulip-export-abc/realm.json"),
                    RequestBody.fromString("{\"zerver_realm\":[]}"));
            s3.putObject(b -> b.bucket("exports").key("zulip-export-abc.tar.gz"), RequestBody.fromBytes(big));
            s3.putObject(b -> b.bucket("exports").key("other/file.txt"), RequestBody.fromString("x"));

            assertThat(s3.getObjectAsBytes(b -> b.bucket("exports").key("zulip-export-abc/realm.json")).asUtf8String())
                    .isEqualTo("{\"zerver_realm\":[]}");
            assertThat(s3.getObjectAsBytes(b -> b.bucket("exports").key("zulip-export-abc.tar.gz")).asByteArray())
                    .isEqualTo(big);
            List<String> keys = s3.listObjectsV2Paginator(b -> b.bucket("exports").prefix("zulip-export-abc"))
                    .contents().stream().map(S3Object::key).collect(Collectors.toList());
            assertThat(keys).containsExactly("zulip-export-abc.tar.gz", "zulip-export-abc/realm.json");
        }
        try (S3Client intruder = s3Client(stack.s3AccessKey(), "not-the-secret")) {
            assertThatThrownBy(() -> intruder.listBuckets())
                    .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.statusCode()).isEqualTo(403));
        }
    }

    @Test
    void uploadsDirIsAnEmptyZulipLocalUploadsDir() throws Exception {
        Path uploads = stack.uploadsDir();
        assertThat(uploads).isDirectory();
        try (Stream<Path> children = Files.list(uploads)) {
            assertThat(children.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("files", "avatars");
        }
        for (String child : List.of("files", "avatars")) {
            try (Stream<Path> grandchildren = Files.list(uploads.resolve(child))) {
                assertThat(grandchildren).isEmpty();
            }
        }
    }

    @Test
    void environmentNamesEveryEndpointInOrder() {
        Map<String, String> env = stack.environment();
        assertThat(env).containsExactly(
                Map.entry("KAFKA_BOOTSTRAP", stack.kafkaBootstrap()),
                Map.entry("JDBC_URL", stack.jdbcUrl()),
                Map.entry("S3_ENDPOINT", stack.s3Endpoint()),
                Map.entry("S3_ACCESS_KEY", stack.s3AccessKey()),
                Map.entry("S3_SECRET_KEY", stack.s3SecretKey()),
                Map.entry("UPLOADS_DIR", stack.uploadsDir().toString()));
        assertThat(stack.toString()).doesNotContain(stack.s3SecretKey());
    }

    static S3Client s3Client(String accessKey, String secretKey) {
        return S3Client.builder()
                .endpointOverride(URI.create(stack.s3Endpoint()))
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    static String single(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).as(sql).isTrue();
            String value = rs.getString(1);
            assertThat(rs.next()).as(sql + " returns one row").isFalse();
            return value;
        }
    }
}
