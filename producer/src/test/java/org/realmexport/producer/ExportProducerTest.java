package org.realmexport.producer;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealm;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The producer on the embedded stack with a generated realm pair. (The detailed planning cases,
 * on a hand-made database whose every message is known, are in the shard-workers module's tests.)
 */
class ExportProducerTest {
    static EmbeddedStack stack;
    static GeneratedRealms realms;
    static Path out;

    @BeforeAll
    static void start() throws Exception {
        stack = EmbeddedStack.builder().s3(false).uploads(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(2500)).generate(stack.jdbcUrl());
        out = Files.createTempDirectory("producer-test");
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void eachRealmIsPlannedInShardsOfAThousandFromItsOwnMessages() throws Exception {
        Map<String, Object> config = Map.of("bootstrap.servers", stack.kafkaBootstrap(), "jdbc.url", stack.jdbcUrl(),
                "topic.prefix", "plan", "output.dir", out.toString());
        try (ExportProducer producer = new ExportProducer(config).start()) {
            GeneratedRealm primary = realms.primary();
            GeneratedRealm secondary = realms.secondary();
            request("plan", "by-string-id", primary.stringId());
            request("plan", "by-id", String.valueOf(secondary.realmId()));
            request("plan", "unknown", "no-such-realm-here");
            List<ExportStatus> statuses = values(read("plan.status", 3), ExportStatus.class);

            ExportStatus p = status(statuses, "by-string-id");
            assertThat(p.state()).isEqualTo(ExportState.PLANNED);
            assertThat(p.realmId()).isEqualTo(primary.realmId());
            assertThat(p.messages()).isEqualTo(primary.messages());
            int shardCount = (int) ((primary.messages() + 999) / 1000);
            ExportStatus s = status(statuses, "by-id");
            assertThat(s.realmId()).isEqualTo(secondary.realmId());
            assertThat(s.messages()).isEqualTo(secondary.messages());
            assertThat(status(statuses, "unknown").state()).isEqualTo(ExportState.FAILED);

            List<ConsumerRecord<String, byte[]>> taskRecords = read("plan.shard-tasks",
                    p.tasksPlanned() - 1 + s.tasksPlanned() - 1);
            List<ExportTask> ofP = values(taskRecords, ExportTask.class).stream()
                    .filter(t -> t.exportId().equals(p.exportId()))
                    .sorted(Comparator.comparingInt(ExportTask::shard)).toList();
            // spread by cost over the topic's 12 partitions: fewer tasks than partitions, one each
            assertThat(ofP.size()).isLessThanOrEqualTo(12);
            assertThat(taskRecords.stream().filter(r -> r.key().startsWith(p.exportId() + "/"))
                    .map(ConsumerRecord::partition).distinct().count()).isEqualTo(ofP.size());
            List<ExportTask> shards = ofP.stream().filter(t -> t.kind() == ExportTask.Kind.MESSAGES).toList();
            long copies = ofP.stream().filter(t -> t.kind().isFileCopy()).count();
            assertThat(shards).hasSize(shardCount);
            assertThat(copies).as("a batch of each file category at least").isGreaterThanOrEqualTo(4);
            assertThat(p.tasksPlanned()).isEqualTo(shardCount + 1 + (int) copies);
            for (int k = 0; k < shards.size(); k++) {
                ExportTask t = shards.get(k);
                assertThat(t.shard()).isEqualTo(k + 1);
                assertThat(t.expectedCount()).isEqualTo(k < shards.size() - 1 ? 1000 : (int) (primary.messages() - 1000L * k));
                assertThat(t.firstId()).isLessThanOrEqualTo(t.lastId()).isGreaterThanOrEqualTo(primary.firstMessageId());
                assertThat(t.lastId()).isLessThanOrEqualTo(Math.min(primary.lastMessageId(), t.watermark()));
                if (k > 0) {
                    assertThat(t.firstId()).isGreaterThan(shards.get(k - 1).lastId());
                }
            }
        }
    }

    static ExportStatus status(List<ExportStatus> statuses, String requestId) {
        return statuses.stream().filter(x -> x.exportId().equals(ExportId.forRequest(requestId))).findFirst().orElseThrow();
    }

    static void request(String prefix, String id, String realm) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        try (KafkaProducer<String, byte[]> k = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            k.send(new ProducerRecord<>(prefix + ".requests", id, Json.toBytes(new ExportRequest(Versioned.CURRENT, id,
                    realm, "full", null, null, 0)))).get();
        }
    }

    static List<ConsumerRecord<String, byte[]>> read(String topic, int count) {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
            assertThat(out).hasSizeGreaterThanOrEqualTo(count);
            return out;
        }
    }

    static <T> List<T> values(List<ConsumerRecord<String, byte[]>> records, Class<T> type) throws Exception {
        List<T> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            out.add(Json.fromBytes(r.value(), type));
        }
        return out;
    }
}
