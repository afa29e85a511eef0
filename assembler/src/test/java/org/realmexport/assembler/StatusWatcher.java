package org.realmexport.assembler;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** Reads a topic (committed records only, from the beginning) in the background, by key. */
final class StatusWatcher implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, List<byte[]>> byKey = new ConcurrentHashMap<>();
    private final Thread thread;
    private final String bootstrap;
    private final List<org.apache.kafka.common.TopicPartition> partitions;
    private final Map<org.apache.kafka.common.TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    StatusWatcher(String bootstrap, String topic) {
        this.bootstrap = bootstrap;
        Properties props = properties(bootstrap);
        consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
        partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30))
                .stream().map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        thread = new Thread(() -> {
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    byKey.computeIfAbsent(String.valueOf(r.key()), k -> new CopyOnWriteArrayList<>()).add(r.value());
                }
                for (org.apache.kafka.common.TopicPartition tp : partitions) {
                    positions.put(tp, consumer.position(tp));
                }
            }
            consumer.close();
        }, "status-watcher-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    private static Properties properties(String bootstrap) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return props;
    }

    /** Waits until everything committed to the topic so far has been read. */
    void awaitCaughtUp(Duration timeout) throws InterruptedException {
        Map<org.apache.kafka.common.TopicPartition, Long> ends;
        try (KafkaConsumer<String, byte[]> probe = new KafkaConsumer<>(properties(bootstrap), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            ends = probe.endOffsets(partitions, timeout);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ends.entrySet().stream().anyMatch(e -> positions.getOrDefault(e.getKey(), 0L) < e.getValue())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("status watcher did not catch up with " + ends + ": at " + positions);
            }
            Thread.sleep(20);
        }
    }

    List<byte[]> records(String key) {
        return new ArrayList<>(byKey.getOrDefault(key, List.of()));
    }

    /** Every status posted for an export, in order. */
    List<ExportStatus> history(String exportId) {
        List<ExportStatus> out = new ArrayList<>();
        for (byte[] value : records(exportId)) {
            try {
                out.add(Json.fromBytes(value, ExportStatus.class));
            } catch (java.io.IOException e) {
                throw new AssertionError("unreadable status of " + exportId, e);
            }
        }
        return out;
    }

    /** Waits for the first status of the export matching {@code wanted}; fails after the timeout. */
    ExportStatus await(String exportId, Predicate<ExportStatus> wanted, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ExportStatus> hit = history(exportId).stream().filter(wanted).findFirst();
            if (hit.isPresent()) {
                return hit.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no matching status for export " + exportId + " within " + timeout
                + "; seen: " + history(exportId).stream().map(s -> s.state() + " " + s.tasksDone() + "/"
                + s.tasksPlanned() + (s.error() == null ? "" : " " + s.error())).toList());
    }

    ExportStatus awaitState(String exportId, ExportState state, Duration timeout) throws InterruptedException {
        return await(exportId, s -> s.state() == state, timeout);
    }

    /** The first terminal status (SUCCEEDED or FAILED). */
    ExportStatus awaitEnd(String exportId, Duration timeout) throws InterruptedException {
        return await(exportId, s -> s.state().terminal(), timeout);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
    }
}
