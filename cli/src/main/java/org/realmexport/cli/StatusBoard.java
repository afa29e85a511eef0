package org.realmexport.cli;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportStatus;

import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The latest status of every export, read from the compacted status topic: a consumer with no
 * group, assigned every partition, reading from the beginning. The last record per key (the
 * export id) is the export's state; a tombstone removes it.
 */
final class StatusBoard implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<TopicPartition> partitions;
    private final Map<String, ExportStatus> exports = new LinkedHashMap<>();
    /** Per export: when its first status was posted, and when its count of tasks done last grew. */
    private final Map<String, long[]> times = new java.util.HashMap<>();
    private int unreadable;

    StatusBoard(Properties readerProperties, String topic) {
        this.consumer = new KafkaConsumer<>(readerProperties, new StringDeserializer(), new ByteArrayDeserializer());
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
        this.partitions = infos == null ? List.of()
                : infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    /** Reads up to the end offsets as of now. */
    void catchUp(Duration timeout) {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!reached(ends)) {
            if (System.nanoTime() > deadline) {
                throw new UsageException("timed out reading the status topic");
            }
            poll(Duration.ofMillis(200));
        }
    }

    private boolean reached(Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            if (consumer.position(end.getKey()) < end.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Applies whatever arrives within {@code timeout}; true when something did. */
    boolean poll(Duration timeout) {
        boolean any = false;
        for (ConsumerRecord<String, byte[]> record : consumer.poll(timeout)) {
            apply(record);
            any = true;
        }
        return any;
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            exports.remove(record.key());
            return;
        }
        try {
            ExportStatus status = Json.fromBytes(record.value(), ExportStatus.class);
            status.checkVersion();
            String id = record.key() != null ? record.key() : status.exportId();
            ExportStatus before = exports.remove(id); // re-insert: the map keeps the order of the latest update
            exports.put(id, status);
            long[] t = times.computeIfAbsent(id, k -> new long[] {status.updatedAt(), status.updatedAt()});
            t[0] = Math.min(t[0], status.updatedAt());
            if (before != null && status.tasksDone() > before.tasksDone()) {
                t[1] = status.updatedAt();
            }
        } catch (IOException | IllegalArgumentException e) {
            unreadable++;
        }
    }

    /** When the export's first status was posted (epoch ms), or its latest's time if unknown. */
    long startedAt(ExportStatus s) {
        long[] t = times.get(s.exportId());
        return t == null ? s.updatedAt() : t[0];
    }

    /** When a task of the export last finished (or it was planned), as far as this board saw. */
    long lastProgressAt(ExportStatus s) {
        long[] t = times.get(s.exportId());
        return t == null ? s.updatedAt() : t[1];
    }

    ExportStatus get(String exportId) {
        return exports.get(exportId);
    }

    Collection<ExportStatus> exports() {
        return exports.values();
    }

    int unreadable() {
        return unreadable;
    }

    @Override
    public void close() {
        consumer.close(KafkaClients.CLOSE_TIMEOUT);
    }
}
