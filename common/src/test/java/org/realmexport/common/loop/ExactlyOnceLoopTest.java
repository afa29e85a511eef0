package org.realmexport.common.loop;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.realmexport.common.Json;
import org.realmexport.common.db.RetryPolicy;
import org.realmexport.common.event.DeadLetter;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The loop against Kafka's mock clients: what is committed, in which transaction, and where the
 * consumer stands after each kind of error. No broker, no thread: the test drives each poll.
 */
class ExactlyOnceLoopTest {
    private static final TopicPartition IN = new TopicPartition("in", 0);
    private static final int ATTEMPTS = 3;

    private final MockConsumer<String, byte[]> consumer = new MockConsumer<>("earliest");
    private final MockProducer<String, byte[]> producer =
            new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    private final ScriptedHandler handler = new ScriptedHandler();
    private final List<ConsumerRecord<String, byte[]>> log = new ArrayList<>();
    private ExactlyOnceLoop<String> loop;

    @BeforeEach
    void open() {
        ExactlyOnceLoop.Settings settings = new ExactlyOnceLoop.Settings("test loop", "test", "t1", "group",
                "tx-1", List.of(IN.topic()), "dlq", 10, Duration.ofMinutes(1), Duration.ZERO, Duration.ZERO,
                new RetryPolicy(ATTEMPTS, 0, 0));
        loop = new ExactlyOnceLoop<>(settings, consumer, () -> producer, handler);
        loop.open();
        consumer.rebalance(List.of(IN));
        consumer.updateBeginningOffsets(Map.of(IN, 0L));
    }

    @AfterEach
    void close() {
        loop.close();
    }

    @Test
    void outputsAndTheOffsetAreCommittedInOneTransaction() {
        append("a");
        append("b");
        loop.pollOnce();

        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(committedValues()).containsExactly("A", "B");
        assertThat(committedOffsets()).containsExactly(2L);
        assertThat(handler.afterCommit).containsExactly("a", "b");
    }

    @Test
    void anUnreadableRecordGoesToTheDeadLetterTopicWithItsBytes() throws Exception {
        append("bad");
        append("c");
        loop.pollOnce();

        ProducerRecord<String, byte[]> dead = producer.history().get(0);
        assertThat(dead.topic()).isEqualTo("dlq");
        DeadLetter dl = Json.fromBytes(dead.value(), DeadLetter.class);
        assertThat(dl.offset()).isZero();
        assertThat(dl.service()).isEqualTo("test");
        assertThat(dl.error()).isEqualTo("unreadable: bad");
        assertThat(Base64.getDecoder().decode(dl.originalValue())).isEqualTo("bad".getBytes(StandardCharsets.UTF_8));
        assertThat(producer.history().get(1).topic()).isEqualTo("out");
        assertThat(committedOffsets()).containsExactly(2L);
    }

    @Test
    void aTransientFaultRewindsTheBatchUncommittedAndRedoesIt() {
        append("a");
        append("b");
        handler.script("b", transientFault());
        loop.pollOnce();

        assertThat(producer.commitCount()).isZero();
        assertThat(producer.history()).isEmpty();
        assertThat(consumer.position(IN)).isEqualTo(0L); // back at the last committed offset

        redeliver();
        loop.pollOnce();
        assertThat(committedValues()).containsExactly("A", "B"); // once each
        assertThat(committedOffsets()).containsExactly(2L);
        assertThat(handler.processed).containsExactly("a", "b", "a", "b");
    }

    @Test
    void aFaultPersistingPastTheAttemptsIsReportedWithTheLastError() {
        append("a");
        for (int i = 0; i < ATTEMPTS; i++) {
            handler.script("a", transientFault());
        }
        for (int i = 1; i < ATTEMPTS; i++) {
            loop.pollOnce();
            assertThat(producer.commitCount()).as("attempt %d", i).isZero();
            redeliver();
        }
        loop.pollOnce();

        assertThat(committedValues()).containsExactly("failed a after " + ATTEMPTS + ": SQLException 08006");
        assertThat(committedOffsets()).containsExactly(1L);
    }

    @Test
    void aPermanentErrorIsReportedAtOnce() {
        append("a");
        handler.script("a", new SQLException("relation does not exist", "42P01"));
        loop.pollOnce();

        assertThat(committedValues()).containsExactly("failed a after 1: SQLException 42P01");
        assertThat(handler.processed).containsExactly("a");
    }

    @Test
    void aFailedCommitIsAbortedAndTheBatchRedoneWithoutCountingAnAttempt() {
        append("a");
        producer.commitTransactionException = new KafkaException("coordinator moved");
        loop.pollOnce();

        assertThat(producer.transactionAborted()).isTrue();
        assertThat(producer.history()).isEmpty();
        assertThat(consumer.position(IN)).isEqualTo(0L);

        producer.commitTransactionException = null;
        redeliver();
        loop.pollOnce();
        assertThat(committedValues()).containsExactly("A");
        assertThat(committedOffsets()).containsExactly(1L);
        assertThat(handler.afterCommit).containsExactly("a");
    }

    @Test
    void backgroundWorkOfTheOutputsEndsBeforeTheyAreSent() {
        append("a");
        append("b");
        java.util.concurrent.CompletableFuture<Void> syncA = new java.util.concurrent.CompletableFuture<>();
        handler.ready.put("a", syncA);
        // the work ends on another thread while the loop goes on with "b"
        handler.onProcess = () -> {
            if (handler.processed.size() == 2) {
                new Thread(() -> syncA.complete(null)).start();
            }
        };
        loop.pollOnce();

        assertThat(handler.readyAtCommit).containsExactly("a:true", "b:none");
        assertThat(committedValues()).containsExactly("A", "B");
        assertThat(committedOffsets()).containsExactly(2L);
    }

    @Test
    void failedBackgroundWorkRedoesTheBatchWithNothingSent() {
        append("a");
        append("b");
        handler.ready.put("b", java.util.concurrent.CompletableFuture.failedFuture(
                new java.io.IOException("fsync: Input/output error")));
        loop.pollOnce();

        assertThat(producer.history()).isEmpty();
        assertThat(producer.commitCount()).isZero();
        assertThat(consumer.position(IN)).isEqualTo(0L);
        assertThat(loop.redone()).isEqualTo(1);

        handler.ready.clear();
        redeliver();
        loop.pollOnce();
        assertThat(committedValues()).containsExactly("A", "B");
        assertThat(committedOffsets()).containsExactly(2L);
        assertThat(handler.processed).containsExactly("a", "b", "a", "b");
    }

    @Test
    void aFencedProducerStopsTheLoopWithNothingCommitted() {
        append("a");
        producer.fenceProducer();

        assertThatThrownBy(loop::pollOnce).isInstanceOf(ProducerFencedException.class);
        assertThat(producer.history()).isEmpty();
        assertThat(handler.afterCommit).isEmpty();
    }

    @Test
    void closingDuringProcessingAbandonsTheBatchUncommitted() {
        append("a");
        handler.script("a", new IllegalStateException("cancelled"));
        handler.onProcess = loop::close; // close() arrives while "a" is being processed
        loop.pollOnce();

        assertThat(producer.history()).isEmpty();
        assertThat(handler.afterCommit).isEmpty();
    }

    private static SQLException transientFault() {
        return new SQLException("An I/O error occurred while sending to the backend.", "08006");
    }

    private void append(String value) {
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>(IN.topic(), IN.partition(), log.size(), value,
                value.getBytes(StandardCharsets.UTF_8));
        log.add(r);
        consumer.addRecord(r);
    }

    /** MockConsumer forgets what it returned: hand it the log again from its position, as a broker would. */
    private void redeliver() {
        long position = consumer.position(IN);
        log.stream().filter(r -> r.offset() >= position).forEach(consumer::addRecord);
    }

    private List<String> committedValues() {
        return producer.history().stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
    }

    private List<Long> committedOffsets() {
        return producer.consumerGroupOffsetsHistory().stream()
                .flatMap(byGroup -> byGroup.values().stream())
                .map(offsets -> offsets.get(IN))
                .map(OffsetAndMetadata::offset)
                .toList();
    }

    /** Upper-cases each value, unless told to throw for it first. */
    private static final class ScriptedHandler implements ExactlyOnceLoop.Handler<String> {
        final Map<String, Deque<Exception>> faults = new HashMap<>();
        final List<String> processed = new ArrayList<>();
        final List<String> afterCommit = new ArrayList<>();
        /** Background work an output waits for, by value; and whether it was done when the commit came. */
        final Map<String, java.util.concurrent.Future<?>> ready = new HashMap<>();
        final List<String> readyAtCommit = new ArrayList<>();
        Runnable onProcess = () -> { };

        @Override
        public void beforeCommit(String value) {
            java.util.concurrent.Future<?> f = ready.get(value);
            readyAtCommit.add(value + ":" + (f == null ? "none" : f.isDone()));
        }

        void script(String value, Exception fault) {
            faults.computeIfAbsent(value, v -> new ArrayDeque<>()).add(fault);
        }

        @Override
        public String read(ConsumerRecord<String, byte[]> record) {
            String value = new String(record.value(), StandardCharsets.UTF_8);
            if (value.equals("bad")) {
                throw new IllegalArgumentException("unreadable: bad");
            }
            return value;
        }

        @Override
        public ExactlyOnceLoop.Output process(String value) throws Exception {
            processed.add(value);
            onProcess.run();
            Exception fault = faults.getOrDefault(value, new ArrayDeque<>()).poll();
            if (fault != null) {
                throw fault;
            }
            return output(value.toUpperCase(), value);
        }

        @Override
        public ExactlyOnceLoop.Output failed(String value, Exception error, int attempts) {
            SQLException sql = (SQLException) error;
            return output("failed " + value + " after " + attempts + ": SQLException " + sql.getSQLState(), value);
        }

        private ExactlyOnceLoop.Output output(String text, String value) {
            return new ExactlyOnceLoop.Output(List.of(new ProducerRecord<>("out", value,
                    text.getBytes(StandardCharsets.UTF_8))), () -> afterCommit.add(value), ready.get(value));
        }
    }
}
