package org.realmexport.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.TaskResult;
import org.realmexport.producer.ExportProducer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** Producer and shard workers together on a real broker and the {@link ZulipFixture} database. */
class ShardWorkerTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static PipelineHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new PipelineHarness(2500);
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    static ExportStatus planned(String prefix, String exportId) {
        return h.statuses(prefix, exportId, 1, WAIT).get(0);
    }

    static List<TaskResult> results(String prefix, String exportId, int count) {
        return PipelineHarness.values(h.readUntil(prefix + ".shard-results",
                rs -> rs.stream().filter(r -> exportId.equals(r.key())).count() >= count, WAIT), TaskResult.class)
                .stream().filter(r -> r.exportId().equals(exportId)).toList();
    }

    Map<String, Object> workerConfig(String prefix, String id) {
        Map<String, Object> c = new HashMap<>(h.config(prefix));
        c.put("worker.id", id);
        return c;
    }

    @Test
    void twoWorkersExportEveryTaskOnceWithChecksumsAndNothingAboveTheWatermark() throws Exception {
        String prefix = h.newPrefix();
        String exportId = ExportId.forRequest("e2e");
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "e2e", "", "full");
            ExportStatus status = planned(prefix, exportId);
            // written after planning: above the watermark, so in no shard
            h.sql("INSERT INTO zerver_message (id, type, subject, content, date_sent, has_attachment, has_image, has_link,"
                    + " sender_id, sending_client_id, realm_id, recipient_id, is_channel_message)"
                    + " VALUES (30000, 1, 'late', 'late', now(), false, false, false, 1001, 1, 2, 4001, true)");
            try (ShardWorker a = new ShardWorker(workerConfig(prefix, "a")).start();
                 ShardWorker b = new ShardWorker(workerConfig(prefix, "b")).start()) {
                List<TaskResult> results = results(prefix, exportId, status.tasksPlanned());
                // the config task, the shards, and a batch of each file category (this realm has few files)
                assertThat(results).extracting(TaskResult::taskId).containsExactlyInAnyOrder("realm", "messages-000001",
                        "messages-000002", "messages-000003", "uploads-000001", "avatars-000001", "emoji-000001",
                        "realm_icons-000001");
                assertThat(results).allSatisfy(r -> assertThat(r.error()).isNull());
                Path dir = Path.of(status.output());
                long messages = 0;
                for (TaskResult r : results) {
                    for (Map.Entry<String, TaskResult.FileInfo> f : r.files().entrySet()) {
                        byte[] bytes = Files.readAllBytes(dir.resolve(f.getKey()));
                        assertThat(bytes.length).isEqualTo(f.getValue().size());
                        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)))
                                .isEqualTo(f.getValue().sha256());
                    }
                    messages += r.rows().getOrDefault("zerver_message", 0L);
                }
                assertThat(messages).isEqualTo(2500);
                assertThat(results).filteredOn(r -> r.taskId().equals("messages-000003")).singleElement()
                        .satisfies(r -> assertThat(r.messageIds()).containsExactly(20010L, 25000L));
                JsonNode last = Json.MAPPER.readTree(dir.resolve("messages-000003.json").toFile());
                assertThat(last.get("zerver_message")).noneMatch(m -> m.get("id").asLong() == 30000);
                assertThat(results).extracting(TaskResult::worker).containsAnyOf("a", "b");
                assertThat(a.isRunning()).isTrue();
            }
        } finally {
            h.sql("DELETE FROM zerver_message WHERE id = 30000");
        }
    }

    @Test
    void aWorkerKilledBeforeItsCommitLeavesTheTaskToAnotherAndTheResultAppearsOnce() throws Exception {
        String prefix = h.newPrefix();
        String exportId = ExportId.forRequest("crash");
        CountDownLatch crashed = new CountDownLatch(1);
        AtomicReference<String> crashedTask = new AtomicReference<>();
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start();
             ShardWorker doomed = new ShardWorker(workerConfig(prefix, "doomed"))) {
            doomed.beforeCommit(task -> {
                if (task.kind() == ExportTask.Kind.MESSAGES && crashedTask.compareAndSet(null, task.taskId())) {
                    crashed.countDown();
                    throw new ShardWorker.SimulatedCrash(); // result sent in the transaction, not committed
                }
            });
            doomed.start();
            h.request(prefix, "crash", "", "full");
            assertThat(crashed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            int planned = planned(prefix, exportId).tasksPlanned();
            try (ShardWorker survivor = new ShardWorker(workerConfig(prefix, "survivor")).start()) {
                List<TaskResult> results = results(prefix, exportId, planned);
                assertThat(results).hasSize(planned);
                assertThat(results).extracting(TaskResult::taskId).doesNotHaveDuplicates();
                assertThat(results).filteredOn(r -> r.taskId().equals(crashedTask.get())).singleElement()
                        .satisfies(r -> {
                            assertThat(r.worker()).isEqualTo("survivor");
                            assertThat(r.error()).isNull();
                        });
                assertThat(doomed.isRunning()).isFalse();
                // nothing more arrives: the doomed worker's result stays uncommitted for good
                Thread.sleep(500);
                assertThat(PipelineHarness.values(h.readAll(prefix + ".shard-results"), TaskResult.class)).hasSize(planned);
            }
        }
    }

    @Test
    void aShardThatLostAMessageAfterPlanningReportsTheRowsItWrote() throws Exception {
        String prefix = h.newPrefix();
        String exportId = ExportId.forRequest("lost");
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "lost", "", "full");
            int planned = planned(prefix, exportId).tasksPlanned();
            h.sql("CREATE TABLE saved_m AS SELECT * FROM zerver_message WHERE id = 20020;"
                    + "CREATE TABLE saved_um AS SELECT * FROM zerver_usermessage WHERE message_id = 20020;"
                    + "DELETE FROM zerver_usermessage WHERE message_id = 20020; DELETE FROM zerver_message WHERE id = 20020");
            try (ShardWorker worker = new ShardWorker(workerConfig(prefix, "w")).start()) {
                List<TaskResult> results = results(prefix, exportId, planned);
                assertThat(results).noneMatch(TaskResult::failed);
                assertThat(results).filteredOn(r -> r.taskId().equals("messages-000003")).singleElement()
                        .satisfies(r -> assertThat(r.rows()).containsEntry("zerver_message", 499L));
                assertThat(worker.isRunning()).isTrue();
                assertThat(worker.tasksDone()).isEqualTo(planned);
            }
        } finally {
            h.sql("INSERT INTO zerver_message SELECT * FROM saved_m; INSERT INTO zerver_usermessage SELECT * FROM saved_um;"
                    + "DROP TABLE saved_m, saved_um");
        }
    }

    @Test
    void closeStopsAnIdleWorkerAndAnUnreadableTaskIsDeadLettered() throws Exception {
        String prefix = h.newPrefix();
        ShardWorker worker = new ShardWorker(workerConfig(prefix, "idle")).start();
        h.send(prefix + ".shard-tasks", "junk", "{\"v\":1,\"kind\":\"MESSAGES\"}".getBytes());
        assertThat(h.readUntil(prefix + ".dlq", rs -> !rs.isEmpty(), WAIT)).hasSize(1);
        worker.close();
        assertThat(worker.isRunning()).isFalse();
    }
}
