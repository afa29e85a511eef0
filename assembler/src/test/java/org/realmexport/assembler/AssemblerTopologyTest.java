package org.realmexport.assembler;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The assembler's counting and deciding, driven record by record without a broker (Kafka
 * Streams' TopologyTestDriver, as its own WordCountProcessorTest does), with the finalizers
 * replaced by futures the test completes.
 */
class AssemblerTopologyTest {
    private static final Topics TOPICS = new Topics("t");
    private static final String EXPORT = "e1";

    @TempDir
    Path stateDir;

    private final List<ExportStatus> handedOver = new ArrayList<>();
    private final List<CompletableFuture<ExportStatus>> finalizings = new ArrayList<>();
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> results;
    private TestInputTopic<String, byte[]> statuses;
    private TestOutputTopic<String, byte[]> out;
    private int tasksPlanned;

    @BeforeEach
    void start() {
        ProgressProcessor.Finalizers finalizers = (assembling, partition) -> {
            handedOver.add(assembling);
            CompletableFuture<ExportStatus> f = new CompletableFuture<>();
            finalizings.add(f);
            return f;
        };
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "assembler-topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AssemblerTopology.build(TOPICS, finalizers,
                new AssemblerMetrics(new org.realmexport.common.metrics.ExportMeters(new SimpleMeterRegistry(), "assembler")), 1_000, Duration.ofDays(7).toMillis()), props);
        results = driver.createInputTopic(TOPICS.shardResults(), new StringSerializer(), new ByteArraySerializer());
        statuses = driver.createInputTopic(TOPICS.status(), new StringSerializer(), new ByteArraySerializer());
        out = driver.createOutputTopic(TOPICS.status(), new StringDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void eachTaskIsCountedOnceAndTheCompleteExportIsHandedOverAtOnce() {
        statuses.pipeInput(EXPORT, Json.toBytes(planned(3)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        results.pipeInput(EXPORT, Json.toBytes(result("messages-000001", Map.of("zerver_message", 1000L), null)));
        results.pipeInput(EXPORT, Json.toBytes(result("messages-000001", Map.of("zerver_message", 1000L), null)));
        assertThat(handedOver).isEmpty();

        results.pipeInput(EXPORT, Json.toBytes(result("messages-000002", Map.of("zerver_message", 500L), null)));

        List<ExportStatus> sent = drain();
        ExportStatus assembling = sent.get(sent.size() - 1);
        assertThat(assembling.state()).isEqualTo(ExportState.ASSEMBLING);
        assertThat(assembling.tasksDone()).isEqualTo(3); // the duplicate is not counted
        assertThat(assembling.rows()).containsEntry("zerver_message", 1500L).containsEntry("zerver_realm", 1L);
        assertThat(assembling.bytesWritten()).isEqualTo(3 * FILE_SIZE); // the duplicate's file neither
        // handed to the finalizers on the decision, not after ASSEMBLING came back from the topic
        assertThat(handedOver).singleElement().satisfies(s -> assertThat(s.tasksDone()).isEqualTo(3));
        assertThat(sent).filteredOn(s -> s.state() == ExportState.RUNNING)
                .allSatisfy(s -> assertThat(s.tasksDone()).isLessThan(3));
    }

    @Test
    void theFilesAFileCopyBatchCopiedCountAsWritten() {
        statuses.pipeInput(EXPORT, Json.toBytes(planned(2)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        TaskResult batch = new TaskResult(Versioned.CURRENT, EXPORT, "uploads-000001", 2,
                Map.of(".copied/uploads-000001.json", new TaskResult.FileInfo(FILE_SIZE, "cd".repeat(32))), Map.of(),
                Map.of(), Map.of(), List.of(), null, null, null, null, "w1", 5_000_000L);
        results.pipeInput(EXPORT, Json.toBytes(batch));

        List<ExportStatus> sent = drain();
        assertThat(sent.get(sent.size() - 1).bytesWritten()).isEqualTo(2 * FILE_SIZE + 5_000_000L);
    }

    @Test
    void theFinalizersAnswerLeavesThroughTheStreamAfterAssembling() {
        completeExport();
        drain();
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        assertThat(drain()).as("nothing before the finalizer answers").isEmpty();

        ExportStatus succeeded = handedOver.get(0).succeeded("/out/e1.tar.gz", "ab".repeat(32), 42L);
        finalizings.get(0).complete(succeeded);
        driver.advanceWallClockTime(Duration.ofSeconds(1));

        assertThat(drain()).singleElement().satisfies(s -> {
            assertThat(s.state()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(s.tarball()).isEqualTo("/out/e1.tar.gz");
            assertThat(s.bytesWritten()).isEqualTo(2 * FILE_SIZE);
        });
        // a late duplicate changes nothing
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        driver.advanceWallClockTime(Duration.ofSeconds(2));
        assertThat(drain()).isEmpty();
        assertThat(handedOver).hasSize(1);
    }

    @Test
    void aFailedTaskFailsTheExportAndNothingIsFinalized() {
        statuses.pipeInput(EXPORT, Json.toBytes(planned(2)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of(), "SQLException: after 8 attempts: gone")));
        results.pipeInput(EXPORT, Json.toBytes(result("messages-000001", Map.of(), null)));

        List<ExportStatus> sent = drain();
        assertThat(sent).extracting(ExportStatus::state).containsExactly(ExportState.FAILED);
        assertThat(sent.get(0).error()).contains("task realm failed").contains("after 8 attempts: gone");
        assertThat(handedOver).isEmpty();
    }

    private void completeExport() {
        statuses.pipeInput(EXPORT, Json.toBytes(planned(2)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        results.pipeInput(EXPORT, Json.toBytes(result("messages-000001", Map.of("zerver_message", 10L), null)));
        assertThat(handedOver).hasSize(1);
    }

    private List<ExportStatus> drain() {
        List<ExportStatus> sent = new ArrayList<>();
        for (byte[] value : out.readValuesToList()) {
            try {
                sent.add(Json.fromBytes(value, ExportStatus.class));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sent;
    }

    private ExportStatus planned(int tasks) {
        tasksPlanned = tasks;
        return new ExportStatus(Versioned.CURRENT, EXPORT, "r1", 7L, "zulip", "full", ExportState.PLANNED, tasks, 0,
                100L, 1500L, URI.create("file:///out/zulip-export-e1/"), null, null, null, null, null, null, 1L);
    }

    /** The size of every task's one file. */
    private static final long FILE_SIZE = 1_000_003L;

    private TaskResult result(String taskId, Map<String, Long> rows, String error) {
        Map<String, TaskResult.FileInfo> files = error != null ? Map.of()
                : Map.of(taskId + ".json", new TaskResult.FileInfo(FILE_SIZE, "ab".repeat(32)));
        return new TaskResult(Versioned.CURRENT, EXPORT, taskId, tasksPlanned, files, rows, Map.of(), Map.of(),
                List.of(), null, null, null, error, "w1");
    }
}
