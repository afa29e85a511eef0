package org.realmexport.assembler;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.Json;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    private TestOutputTopic<String, byte[]> deadLetters;
    private int tasksPlanned;

    @BeforeEach
    void start() {
        // the test driver puts every record on partition 0: inputs of one partition
        start(1);
    }

    private void start(int partitions) {
        if (driver != null) {
            driver.close();
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "assembler-topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(topology(partitions), props);
        results = driver.createInputTopic(TOPICS.shardResults(), new StringSerializer(), new ByteArraySerializer());
        statuses = driver.createInputTopic(TOPICS.status(), new StringSerializer(), new ByteArraySerializer());
        out = driver.createOutputTopic(TOPICS.status(), new StringDeserializer(), new ByteArrayDeserializer());
        deadLetters = driver.createOutputTopic(TOPICS.deadLetters(), new StringDeserializer(), new ByteArrayDeserializer());
    }

    private Topology topology(int partitions) {
        ProgressProcessor.Finalizers finalizers = (assembling, partition) -> {
            handedOver.add(assembling);
            CompletableFuture<ExportStatus> f = new CompletableFuture<>();
            finalizings.add(f);
            return f;
        };
        return AssemblerTopology.build(TOPICS, partitions, finalizers,
                new AssemblerMetrics(new org.realmexport.common.metrics.ExportMeters(new SimpleMeterRegistry(), "assembler")),
                1_000, Duration.ofDays(7).toMillis());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void resultsAndStatusesAreCountedInTheTaskThatReadsThemWithoutARepartitionTopic() {
        TopologyDescription description = topology(12).describe();
        // one sub-topology reads both inputs and holds the state: no hop through the broker between them
        assertThat(description.subtopologies()).singleElement().satisfies(sub -> {
            List<String> sources = sub.nodes().stream().filter(n -> n instanceof TopologyDescription.Source)
                    .flatMap(n -> ((TopologyDescription.Source) n).topicSet().stream()).toList();
            assertThat(sources).containsExactlyInAnyOrder(TOPICS.shardResults(), TOPICS.status());
            assertThat(sub.nodes()).filteredOn(n -> n instanceof TopologyDescription.Processor)
                    .flatMap(n -> ((TopologyDescription.Processor) n).stores())
                    .contains(ProgressProcessor.EXPORTS_STORE, ProgressProcessor.RESULTS_STORE);
        });
        assertThat(description.toString()).doesNotContainIgnoringCase("repartition");
        statuses.pipeInput(EXPORT, Json.toBytes(planned(1)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        assertThat(driver.producedTopicNames()).contains(TOPICS.status())
                .noneSatisfy(topic -> assertThat(topic).containsIgnoringCase("repartition"));
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

    @Test
    void unreadableAndWronglyKeyedRecordsAreDeadLetteredAndTheCountGoesOn() throws IOException {
        statuses.pipeInput(EXPORT, Json.toBytes(planned(2)));
        results.pipeInput(EXPORT, "{not json".getBytes(StandardCharsets.UTF_8));
        // keyed by another id it would be on another export's partition: not counted
        results.pipeInput("e2", Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        results.pipeInput(EXPORT, Json.toBytes(result("realm", Map.of("zerver_realm", 1L), null)));
        assertThat(handedOver).isEmpty();
        results.pipeInput(EXPORT, Json.toBytes(result("messages-000001", Map.of("zerver_message", 10L), null)));
        assertThat(handedOver).singleElement().satisfies(s -> assertThat(s.tasksDone()).isEqualTo(2));

        List<DeadLetter> dead = new ArrayList<>();
        for (byte[] value : deadLetters.readValuesToList()) {
            dead.add(Json.fromBytes(value, DeadLetter.class));
        }
        assertThat(dead).hasSize(2).allSatisfy(d -> assertThat(d.topic()).isEqualTo(TOPICS.shardResults()));
        assertThat(new String(Base64.getDecoder().decode(dead.get(0).originalValue()), StandardCharsets.UTF_8))
                .isEqualTo("{not json");
        assertThat(dead.get(1).error()).contains("not by its export id '" + EXPORT + "'");
    }

    @Test
    void aRecordOffItsExportsPartitionStopsTheStreamInsteadOfBeingCounted() {
        // two partitions, and an export whose key the default partitioner puts on partition 1,
        // while the test driver reads it from partition 0 (as after a partition count changed)
        start(2);
        String exportId = "e1";
        for (int i = 2; Utils.toPositive(Utils.murmur2(exportId.getBytes(StandardCharsets.UTF_8))) % 2 != 1; i++) {
            exportId = "e" + i;
        }
        String misplaced = exportId;
        assertThatThrownBy(() -> statuses.pipeInput(misplaced, Json.toBytes(planned(misplaced, 1))))
                .hasStackTraceContaining("export " + misplaced + ": a record on partition 0 of " + TOPICS.status()
                        + ", where the export's records belong on partition 1 of the 2");
        assertThat(out.readValuesToList()).isEmpty();
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
        return planned(EXPORT, tasks);
    }

    private ExportStatus planned(String exportId, int tasks) {
        tasksPlanned = tasks;
        return new ExportStatus(Versioned.CURRENT, exportId, "r1", 7L, "zulip", "full", ExportState.PLANNED, tasks, 0,
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
