package org.realmexport.producer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Follows the status topic (group {@code <prefix>-realmexport-writeback}) and writes each export
 * that came from a {@code zerver_realmexport} row back to that row ({@link RealmExportTable}):
 * PLANNED (or any later progress) → 2, SUCCEEDED → 3, FAILED → 4. Offsets are committed after
 * the rows are written; a status applied twice changes nothing, so a crash in between is harmless.
 * A database error leaves the offset where it was and is retried after a pause.
 */
final class RealmExportWriteBack implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RealmExportWriteBack.class);
    static final String GROUP = "realmexport-writeback";
    private static final Duration RETRY_PAUSE = Duration.ofSeconds(2);

    private final RealmExportTable table;
    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final Thread thread;
    private volatile boolean running = true;

    RealmExportWriteBack(ExportProducerConfig config, RealmExportTable table) {
        this.table = table;
        Topics topics = config.topics();
        this.topic = topics.status();
        Properties p = config.kafkaProperties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, topics.group(GROUP));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, topics.group(GROUP) + "-" + config.producerId());
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "realmexport-writeback");
    }

    RealmExportWriteBack start() {
        thread.start();
        return this;
    }

    boolean isRunning() {
        return running && thread.isAlive();
    }

    private void run() {
        try {
            consumer.subscribe(List.of(topic));
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
                for (ConsumerRecord<String, byte[]> record : records) {
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    if (done.containsKey(tp) && done.get(tp) == null) {
                        continue; // this partition is re-sought
                    }
                    try {
                        apply(record);
                        done.put(tp, new OffsetAndMetadata(record.offset() + 1));
                    } catch (SQLException e) {
                        LOG.warn("export {}: zerver_realmexport row not updated ({}); retrying in {} s. Check that the"
                                + " watcher's role may UPDATE zerver_realmexport.", record.key(), e.getMessage(),
                                RETRY_PAUSE.toSeconds());
                        consumer.seek(tp, record.offset());
                        done.put(tp, null);
                    }
                }
                done.values().removeIf(v -> v == null);
                if (!done.isEmpty()) {
                    consumer.commitSync(done);
                }
                if (done.size() < records.partitions().size()) {
                    Thread.sleep(RETRY_PAUSE.toMillis());
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // close()
        } catch (RuntimeException e) {
            LOG.error("the zerver_realmexport write-back stopped on an unexpected error; restart the producer", e);
        } finally {
            running = false;
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void apply(ConsumerRecord<String, byte[]> record) throws SQLException {
        if (record.value() == null) {
            return;
        }
        ExportStatus status;
        try {
            status = Json.fromBytes(record.value(), ExportStatus.class);
        } catch (java.io.IOException | RuntimeException e) {
            return; // not ours to judge: `status` reports unreadable records
        }
        if (status.realmExportId() == null || status.state() == null) {
            return;
        }
        long row = status.realmExportId();
        try (MDC.MDCCloseable ignored = MDC.putCloseable(ExportId.MDC_KEY, status.exportId())) {
            switch (status.state()) {
                case PLANNED, RUNNING, ASSEMBLING -> {
                    if (table.started(row, status.updatedAt())) {
                        LOG.info("zerver_realmexport row {}: status 2 (STARTED)", row);
                    }
                }
                case SUCCEEDED -> {
                    if (table.succeeded(status)) {
                        LOG.info("zerver_realmexport row {}: status 3 (SUCCEEDED), export_path {}", row, status.tarball());
                    }
                }
                case FAILED -> {
                    if (table.failed(row, status.updatedAt())) {
                        LOG.warn("zerver_realmexport row {}: status 4 (FAILED): {}", row, status.error());
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        if (!thread.isAlive() && thread.getState() == Thread.State.NEW) {
            consumer.close(Duration.ofSeconds(2));
            return;
        }
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
