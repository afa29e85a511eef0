package org.realmexport.assembler;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;

/**
 * <pre>
 * shard-results ─┐                                    ┌─► status (RUNNING, ASSEMBLING,
 *                ├─ decode ─► progress ───────────────┘     SUCCEEDED, FAILED)
 * status ────────┘    │       (state)  │  ▲
 *   (PLANNED, FAILED) └─► dlq          ▼  │ terminal status, sent by a punctuator
 *      (unreadable)               finalizers (off the stream thread;
 *                                 read assembler-task-results by interactive query)
 * </pre>
 * One sub-topology, no repartition topic: both inputs are keyed by export id and have the same
 * partition count ({@link InputTopicsCheck} refuses to start otherwise), so partition p of each
 * holds the same exports and task p reads, decodes and counts them at once. A result is decoded
 * once, and the end of an export waits for no upstream commit. Every status the assembler decides
 * leaves through the stream's exactly-once producer, in order; none has to come back for the flow to go on.
 */
final class AssemblerTopology {
    private AssemblerTopology() {
    }

    /** {@code partitions}: the count both input topics have, which {@link InputDecoder} checks records against. */
    static Topology build(Topics topics, int partitions, ProgressProcessor.Finalizers finalizers, AssemblerMetrics metrics,
                          long progressIntervalMs, long retentionMs) {
        Serde<String> keys = Serdes.String();
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(
                        Stores.persistentKeyValueStore(ProgressProcessor.EXPORTS_STORE), keys,
                        JsonSerde.of(ExportProgress.class))
                .withCachingDisabled());
        builder.addStateStore(Stores.keyValueStoreBuilder(
                        Stores.persistentKeyValueStore(ProgressProcessor.RESULTS_STORE), keys, Serdes.ByteArray())
                .withCachingDisabled());

        KStream<String, byte[]> results = builder.stream(topics.shardResults(),
                Consumed.with(keys, Serdes.ByteArray()).withName("shard-results"));
        KStream<String, byte[]> statuses = builder.stream(topics.status(),
                Consumed.with(keys, Serdes.ByteArray()).withName("statuses"));
        KStream<String, InputDecoder.Decoded> decoded = results.merge(statuses, Named.as("inputs"))
                .process(() -> new InputDecoder(topics.shardResults(), partitions), Named.as("decode"));

        decoded.filter((k, d) -> d.deadLetter() != null, Named.as("unreadable"))
                .mapValues(d -> Json.toBytes(d.deadLetter()), Named.as("dead-letter"))
                .to(topics.deadLetters(), Produced.with(keys, Serdes.ByteArray()).withName("dlq"));

        // the decoder keeps each record's key (its export id) and partition: the state is read in the task it arrives in
        decoded.filter((k, d) -> d.event() != null, Named.as("readable"))
                .mapValues(InputDecoder.Decoded::event, Named.as("event"))
                .process(() -> new ProgressProcessor(finalizers, metrics, progressIntervalMs, retentionMs),
                        Named.as("progress"), ProgressProcessor.EXPORTS_STORE, ProgressProcessor.RESULTS_STORE)
                .to(topics.status(), Produced.with(keys, JsonSerde.of(ExportStatus.class)).withName("status"));
        return builder.build();
    }
}
