package org.realmexport.producer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The export ids that have a status (planned, or failed at planning, or further along), read from
 * the compacted status topic: the memory that makes planning idempotent across restarts and
 * across producer instances. Reads committed records only, with no consumer group.
 */
final class PlannedExports implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> reader;
    private final List<TopicPartition> partitions;
    private final Set<String> exportIds = new HashSet<>();

    PlannedExports(Properties kafka, String statusTopic) {
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        this.reader = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<PartitionInfo> infos = reader.partitionsFor(statusTopic);
        this.partitions = infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
        reader.assign(partitions);
        reader.seekToBeginning(partitions);
    }

    /** Reads the status topic up to its current end (the last stable offset). */
    void catchUp(Duration timeout) throws TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, Long> end = reader.endOffsets(partitions);
        while (partitions.stream().anyMatch(tp -> reader.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("status topic not read to its end within " + timeout);
            }
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                if (r.key() != null) {
                    exportIds.add(r.key());
                }
            }
        }
    }

    boolean contains(String exportId) {
        return exportIds.contains(exportId);
    }

    void add(String exportId) {
        exportIds.add(exportId);
    }

    int size() {
        return exportIds.size();
    }

    @Override
    public void close() {
        reader.close(Duration.ofSeconds(1));
    }
}
