package org.realmexport.assembler;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;

/**
 * <pre>
 * shard-results ─┐                                                      ┌─► status (RUNNING, ASSEMBLING,
 *                ├─ decode ─► repartition by export id ─► progress ─────┘     SUCCEEDED, FAILED)
 * status ────────┘    │          (one export = one task)     │  ▲
 *   (PLANNED, FAILED) └─► dlq (unreadable)                    ▼  │ terminal status, sent by a punctuator
 *                                                        finalizers (off the stream thread;
 *                                                        read assembler-task-results by interactive query)
 * </pre>
 * The two input topics have different partition counts, so an export's records are merged and
 * repartitioned by export id before the stateful step. Every status the assembler decides leaves
 * through the stream's exactly-once producer, in order; none has to come back for the flow to go on.
 */
final class AssemblerTopology {
    static final String EVENTS_REPARTITION = "events";

    private AssemblerTopology() {
    }

    static Topology build(Topics topics, ProgressProcessor.Finalizers finalizers, AssemblerMetrics metrics,
                          long progressIntervalMs, long retentionMs) {
        Serde<String> keys = Serdes.String();
        Serde<AssemblerEvent> events = JsonSerde.of(AssemblerEvent.class);
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
                .process(() -> new InputDecoder(topics.shardResults()), Named.as("decode"));

        decoded.filter((k, d) -> d.deadLetter() != null, Named.as("unreadable"))
                .mapValues(d -> Json.toBytes(d.deadLetter()), Named.as("dead-letter"))
                .to(topics.deadLetters(), Produced.with(keys, Serdes.ByteArray()).withName("dlq"));

        decoded.filter((k, d) -> d.event() != null, Named.as("readable"))
                .mapValues(InputDecoder.Decoded::event, Named.as("event"))
                .repartition(Repartitioned.with(keys, events).withName(EVENTS_REPARTITION))
                .process(() -> new ProgressProcessor(finalizers, metrics, progressIntervalMs, retentionMs),
                        Named.as("progress"), ProgressProcessor.EXPORTS_STORE, ProgressProcessor.RESULTS_STORE)
                .to(topics.status(), Produced.with(keys, JsonSerde.of(ExportStatus.class)).withName("status"));
        return builder.build();
    }
}
