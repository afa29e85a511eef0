package org.realmexport.assembler;

import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.realmexport.common.Json;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

/**
 * Reads the raw records of the results and status topics: keeps results and the statuses the
 * assembler acts on (the producer's PLANNED and FAILED; not its own RUNNING, ASSEMBLING and
 * SUCCEEDED), keyed by export id, and turns what it
 * cannot read into a {@link DeadLetter} instead of stopping the stream.
 *
 * <p>The next step keeps its state in the task the record arrived in, so a record must be keyed by
 * its export id (else it is a dead letter) and lie on the partition the default partitioner gives
 * that key among the {@code partitions} the input topics had at start (else the stream stops: the
 * partition counts changed under it, and counting on would split an export between two tasks).
 */
final class InputDecoder implements Processor<String, byte[], String, InputDecoder.Decoded> {
    static final String SERVICE = "assembler";
    private static final Logger LOG = LoggerFactory.getLogger(InputDecoder.class);
    /** States only the assembler writes. */
    private static final Set<ExportState> OWN_STATES = EnumSet.of(ExportState.RUNNING, ExportState.ASSEMBLING,
            ExportState.SUCCEEDED);

    /** Exactly one of the two is set. */
    record Decoded(AssemblerEvent event, DeadLetter deadLetter) {
    }

    private final String resultsTopic;
    private final int partitions;
    private ProcessorContext<String, Decoded> context;

    InputDecoder(String resultsTopic, int partitions) {
        this.resultsTopic = resultsTopic;
        this.partitions = partitions;
    }

    @Override
    public void init(ProcessorContext<String, Decoded> ctx) {
        this.context = ctx;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        String topic = context.recordMetadata().map(RecordMetadata::topic).orElse("?");
        AssemblerEvent event;
        try {
            if (topic.equals(resultsTopic)) {
                TaskResult result = Json.fromBytes(record.value(), TaskResult.class);
                check(result, result.exportId(), record.key(), result.taskId(), "task_id");
                event = AssemblerEvent.of(result);
            } else {
                if (record.value() == null) {
                    return; // a tombstone on the compacted status topic
                }
                ExportStatus status = Json.fromBytes(record.value(), ExportStatus.class);
                check(status, status.exportId(), record.key(), status.state(), "state");
                if (OWN_STATES.contains(status.state())) {
                    return; // written by this assembler, which decided them: nothing to learn
                }
                event = AssemblerEvent.of(status);
            }
        } catch (Exception e) {
            RecordMetadata m = context.recordMetadata().orElse(null);
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            LOG.warn("unreadable record on {} (partition {}, offset {}) sent to the dead-letter topic: {}",
                    topic, m == null ? -1 : m.partition(), m == null ? -1 : m.offset(), reason);
            DeadLetter dead = new DeadLetter(Versioned.CURRENT, topic, m == null ? -1 : m.partition(),
                    m == null ? -1 : m.offset(), reason, record.key(),
                    record.value() == null ? null : Base64.getEncoder().encodeToString(record.value()),
                    SERVICE, context.currentSystemTimeMs());
            String key = record.key() != null ? record.key() : topic;
            context.forward(record.withKey(key).withValue(new Decoded(null, dead)));
            return;
        }
        checkPartition(event.exportId(), topic);
        context.forward(record.withValue(new Decoded(event, null)));
    }

    private void checkPartition(String exportId, String topic) {
        int partition = context.recordMetadata().map(RecordMetadata::partition).orElse(-1);
        int expected = Utils.toPositive(Utils.murmur2(exportId.getBytes(StandardCharsets.UTF_8))) % partitions;
        if (partition != expected) {
            String problem = String.format("export %s: a record on partition %d of %s, where the export's records"
                    + " belong on partition %d of the %d the input topics had when the assembler started: their"
                    + " partition count changed since (change the results and status topics together, with no export"
                    + " running), or a writer does not partition by key. The assembler stops rather than count the"
                    + " export in two places: restart it, it checks the partition counts at start.",
                    exportId, partition, topic, expected, partitions);
            LOG.error(problem);
            throw new IllegalStateException(problem);
        }
    }

    private static void check(Versioned record, String exportId, String key, Object required, String name) {
        record.checkVersion();
        if (exportId == null || exportId.isBlank()) {
            throw new IllegalArgumentException("no export_id");
        }
        if (exportId.indexOf('/') >= 0) {
            throw new IllegalArgumentException("export id '" + exportId + "' contains '/'");
        }
        if (!exportId.equals(key)) {
            // the key decides the partition, and so the task that counts the export
            throw new IllegalArgumentException("keyed '" + key + "', not by its export id '" + exportId + "'");
        }
        if (required == null) {
            throw new IllegalArgumentException("no " + name);
        }
    }
}
