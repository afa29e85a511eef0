package org.realmexport.worker;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.localstack.EmbeddedStack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * One PostgreSQL with {@link ZulipFixture} and one Kafka broker for a test class; each test takes
 * its own topic prefix, so tests never see each other's records.
 */
final class PipelineHarness implements AutoCloseable {
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    final EmbeddedStack stack;
    final String adminUrl;
    final String jdbcUrl;
    final Path tmp;

    PipelineHarness(int messages) throws Exception {
        tmp = Files.createTempDirectory("pipeline-test");
        stack = EmbeddedStack.builder().s3(false).uploads(false).start();
        // Zulip's own role owns schema zulip: it creates and fills the tables, as on a real server
        jdbcUrl = stack.jdbcUrl();
        adminUrl = jdbcUrl;
        ZulipFixture.createSchema(jdbcUrl);
        ZulipFixture.seed(jdbcUrl, messages);
    }

    String newPrefix() {
        return "t" + PREFIXES.incrementAndGet();
    }

    /** Settings shared by producer and workers. */
    Map<String, Object> config(String prefix) {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", stack.kafkaBootstrap());
        c.put("topic.prefix", prefix);
        c.put("task.partitions", 3);
        c.put("jdbc.url", jdbcUrl);
        c.put("output.dir", tmp.resolve("out-" + prefix).toString());
        // an abandoned transaction (a killed worker) is aborted quickly, unblocking read_committed readers
        c.put("kafka.transaction.timeout.ms", 5000);
        return c;
    }

    void sql(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(adminUrl); Statement s = c.createStatement()) {
            s.execute("SET search_path = zulip; " + sql);
        }
    }

    void send(String topic, String key, byte[] value) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get();
        }
    }

    void request(String prefix, String requestId, String realm, String type) throws Exception {
        ExportRequest r = new ExportRequest(Versioned.CURRENT, requestId, realm, type, null, null, System.currentTimeMillis());
        send(prefix + ".requests", requestId, Json.toBytes(r));
    }

    /**
     * Reads {@code topic} (committed records only) from the beginning until {@code done} holds for
     * what was read, or fails after {@code timeout}.
     */
    List<ConsumerRecord<String, byte[]>> readUntil(String topic, Predicate<List<ConsumerRecord<String, byte[]>>> done,
                                                   Duration timeout) {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.isEmpty()) {
                c.partitionsFor(topic).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("topic " + topic + " never appeared");
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            while (!done.test(out)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("gave up waiting on " + topic + " after " + timeout + "; read " + out.size()
                            + " records: " + out.stream().map(r -> new String(r.value())).toList());
                }
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
            return out;
        }
    }

    /** Reads {@code topic} to its current end (committed records only). */
    List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
            return out;
        }
    }

    /** The export's statuses on {@code <prefix>.status}, once there are at least {@code atLeast} of them. */
    List<ExportStatus> statuses(String prefix, String exportId, int atLeast, Duration wait) {
        return values(readUntil(prefix + ".status",
                rs -> rs.stream().filter(r -> exportId.equals(r.key())).count() >= atLeast, wait), ExportStatus.class)
                .stream().filter(s -> s.exportId().equals(exportId)).toList();
    }

    static <T> List<T> values(List<ConsumerRecord<String, byte[]>> records, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            try {
                out.add(Json.fromBytes(r.value(), type));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        stack.close();
    }
}
