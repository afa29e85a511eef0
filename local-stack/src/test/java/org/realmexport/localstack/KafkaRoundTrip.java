package org.realmexport.localstack;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Plain Kafka client steps shared by the tests against the embedded broker and a container. */
final class KafkaRoundTrip {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private KafkaRoundTrip() {
    }

    static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
            // the controller has created it; the broker's metadata cache learns of it a moment later
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!admin.listTopics().names().get().contains(topic)) {
                assertThat(System.nanoTime()).as("topic %s visible in time", topic).isLessThan(deadline);
                Thread.sleep(20);
            }
        }
    }

    static Map<String, Object> producerConfig(String bootstrap) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return config;
    }

    static Map<String, Object> consumerConfig(String bootstrap, String group, String isolation) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        return config;
    }

    static void produce(String bootstrap, String topic, Map<String, String> records) throws Exception {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerConfig(bootstrap))) {
            for (Map.Entry<String, String> r : records.entrySet()) {
                producer.send(new ProducerRecord<>(topic, r.getKey(), r.getValue())).get();
            }
        }
    }

    /** Reads {@code topic} from the start with a fresh group until {@code done} holds for the values read. */
    static List<String> consumeValues(String bootstrap, String topic, String isolation, Predicate<List<String>> done) {
        try (KafkaConsumer<String, String> consumer =
                     new KafkaConsumer<>(consumerConfig(bootstrap, "reader-" + System.nanoTime(), isolation))) {
            consumer.subscribe(List.of(topic));
            return pollUntil(consumer, done).stream().map(ConsumerRecord::value).collect(Collectors.toList());
        }
    }

    static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer,
                                                          Predicate<List<String>> done) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            if (done.test(records.stream().map(ConsumerRecord::value).collect(Collectors.toList()))) {
                return records;
            }
        }
        throw new AssertionError("gave up after " + TIMEOUT + " with " + records.size() + " records: "
                + records.stream().map(ConsumerRecord::value).collect(Collectors.toList()));
    }

    /** Produces three keyed records and reads them back through a consumer group. */
    static void produceAndConsume(String bootstrap, String topic) throws Exception {
        createTopic(bootstrap, topic, 3);
        Map<String, String> records = Map.of("k1", "v1", "k2", "v2", "k3", "v3");
        produce(bootstrap, topic, records);
        List<String> values = consumeValues(bootstrap, topic, "read_uncommitted", read -> read.size() >= 3);
        assertThat(values).containsExactlyInAnyOrderElementsOf(records.values());
    }
}
