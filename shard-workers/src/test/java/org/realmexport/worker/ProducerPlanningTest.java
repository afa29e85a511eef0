package org.realmexport.worker;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.producer.ExportProducer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The producer on a real broker and the {@link ZulipFixture} database (2500 exportable messages). */
class ProducerPlanningTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static PipelineHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new PipelineHarness(2500);
    }

    @AfterAll
    static void stop() throws Exception {
        h.close();
    }

    static List<ExportStatus> statuses(String prefix, String exportId, int atLeast) {
        return h.statuses(prefix, exportId, atLeast, WAIT);
    }

    /** The config task and the message shards of an export (not its file copy batches), by shard number. */
    static List<ExportTask> tasks(String prefix, String exportId) {
        return allTasks(prefix, exportId).stream().filter(t -> !t.kind().isFileCopy()).toList();
    }

    static List<ExportTask> allTasks(String prefix, String exportId) {
        List<ExportTask> all = new java.util.ArrayList<>();
        all.addAll(PipelineHarness.values(h.readAll(prefix + ".config-tasks"), ExportTask.class));
        all.addAll(PipelineHarness.values(h.readAll(prefix + ".shard-tasks"), ExportTask.class));
        return all.stream().filter(t -> t.exportId().equals(exportId)).sorted(Comparator.comparingInt(ExportTask::shard)).toList();
    }

    @Test
    void aRequestIsPlannedAsShardsOfAThousandPlusOneConfigTask() throws Exception {
        String prefix = h.newPrefix();
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "req-1", "", "full");
            String exportId = ExportId.forRequest("req-1");
            ExportStatus planned = statuses(prefix, exportId, 1).get(0);
            assertThat(planned.state()).isEqualTo(ExportState.PLANNED);
            assertThat(planned.realmId()).isEqualTo(ZulipFixture.REALM);
            assertThat(planned.messages()).isEqualTo(2500);
            assertThat(planned.watermark()).isEqualTo(25002); // max(zerver_message.id), all realms
            assertThat(planned.output().toString()).endsWith("/" + ExportId.directoryName(exportId));

            List<ExportTask> all = allTasks(prefix, exportId);
            List<ExportTask> tasks = all.stream().filter(t -> !t.kind().isFileCopy()).toList();
            assertThat(tasks).extracting(ExportTask::kind).containsExactly(ExportTask.Kind.REALM_CONFIG,
                    ExportTask.Kind.MESSAGES, ExportTask.Kind.MESSAGES, ExportTask.Kind.MESSAGES);
            assertThat(tasks).extracting(ExportTask::shard).containsExactly(0, 1, 2, 3);
            assertThat(tasks).extracting(ExportTask::expectedCount).containsExactly(0, 1000, 1000, 500);
            assertThat(tasks.subList(1, 4)).extracting(t -> t.firstId() + ".." + t.lastId())
                    .containsExactly("10..10000", "10010..20000", "20010..25000");
            // and the file copy batches: each category's id ranges cover every id, at least one batch each
            List<ExportTask> copies = all.stream().filter(t -> t.kind().isFileCopy()).toList();
            for (ExportTask.Kind kind : List.of(ExportTask.Kind.UPLOADS, ExportTask.Kind.AVATARS,
                    ExportTask.Kind.EMOJI, ExportTask.Kind.REALM_ICONS)) {
                List<ExportTask> batches = copies.stream().filter(t -> t.kind() == kind).toList();
                assertThat(batches).as("%s batches", kind).isNotEmpty();
                assertThat(batches.get(0).firstId()).isZero();
                assertThat(batches.get(batches.size() - 1).lastId()).isEqualTo(Long.MAX_VALUE);
                for (int k = 0; k < batches.size(); k++) {
                    assertThat(batches.get(k).shard()).isEqualTo(k + 1);
                    assertThat(batches.get(k).taskId()).isEqualTo(String.format("%s-%06d", kind.category(), k + 1));
                }
            }
            assertThat(planned.tasksPlanned()).isEqualTo(4 + copies.size()); // ceil(2500 / 1000) + 1 + batches
            assertThat(all).allSatisfy(t -> {
                assertThat(t.tasksPlanned()).isEqualTo(planned.tasksPlanned());
                assertThat(t.watermark()).isEqualTo(25002);
                assertThat(t.output()).isEqualTo(planned.output());
                assertThat(t.realmId()).isEqualTo(ZulipFixture.REALM);
            });
        }
    }

    @Test
    void theSameRequestTwiceIsPlannedOnceEvenAcrossARestart() throws Exception {
        String prefix = h.newPrefix();
        String exportId = ExportId.forRequest("req-twice");
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "req-twice", "2", "full");
            h.request(prefix, "req-twice", "2", "full");
            h.request(prefix, "marker-1", "2", "full");
            statuses(prefix, ExportId.forRequest("marker-1"), 1);
        }
        // a new producer learns the planned exports from the status topic
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "req-twice", "2", "full");
            h.request(prefix, "marker-2", "2", "full");
            statuses(prefix, ExportId.forRequest("marker-2"), 1);
        }
        assertThat(PipelineHarness.values(h.readAll(prefix + ".status"), ExportStatus.class))
                .filteredOn(s -> s.exportId().equals(exportId)).hasSize(1);
        assertThat(tasks(prefix, exportId)).hasSize(4);
    }

    @Test
    void malformedRequestsGoToTheDeadLetterTopicAndTheNextGoodOneIsPlanned() throws Exception {
        String prefix = h.newPrefix();
        Map<String, String> bad = Map.of(
                "bad-json", "{not json",
                "no-id", "{\"v\":1,\"realm\":\"2\",\"type\":\"full\"}",
                "bad-type", "{\"v\":1,\"request_id\":\"x\",\"realm\":\"2\",\"type\":\"everything\"}",
                "future", "{\"v\":99,\"request_id\":\"y\",\"realm\":\"2\",\"type\":\"full\"}",
                "no-realm", "{\"v\":1,\"request_id\":\"z\",\"type\":\"full\"}");
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            for (Map.Entry<String, String> e : bad.entrySet()) {
                h.send(prefix + ".requests", e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
            }
            h.request(prefix, "good-after-bad", "", "full");
            assertThat(statuses(prefix, ExportId.forRequest("good-after-bad"), 1).get(0).state()).isEqualTo(ExportState.PLANNED);
            List<DeadLetter> dead = PipelineHarness.values(h.readUntil(prefix + ".dlq", rs -> rs.size() >= bad.size(), WAIT), DeadLetter.class);
            assertThat(dead).hasSize(bad.size());
            for (DeadLetter d : dead) {
                assertThat(new String(Base64.getDecoder().decode(d.originalValue()), StandardCharsets.UTF_8))
                        .isEqualTo(bad.get(d.originalKey()));
                assertThat(d.topic()).isEqualTo(prefix + ".requests");
                assertThat(d.error()).isNotBlank();
                assertThat(d.service()).isEqualTo("producer");
            }
            assertThat(dead).filteredOn(d -> d.originalKey().equals("future")).singleElement()
                    .satisfies(d -> assertThat(d.error()).contains("v=99"));
        }
    }

    @Test
    void anUnknownRealmOrAnExportWithoutUsableOwnerIsAFailedStatusWithTheReason() throws Exception {
        String prefix = h.newPrefix();
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "no-such-realm", "nosuchrealm", "full");
            h.request(prefix, "public", "", "public");
            ExportStatus unknown = statuses(prefix, ExportId.forRequest("no-such-realm"), 1).get(0);
            assertThat(unknown.state()).isEqualTo(ExportState.FAILED);
            assertThat(unknown.error()).contains("unknown realm 'nosuchrealm'");
            assertThat(unknown.realmId()).isNull();
            ExportStatus pub = statuses(prefix, ExportId.forRequest("public"), 1).get(0);
            assertThat(pub.state()).isEqualTo(ExportState.FAILED);
            // the fixture's root realm has no owner: a public export would not be usable
            assertThat(pub.error()).contains("'public' refused").contains("no owner");
            assertThat(tasks(prefix, unknown.exportId())).isEmpty();
            assertThat(tasks(prefix, pub.exportId())).isEmpty();
        }
    }

    @Test
    void aTableOfZulipsSchemaThatThisBuildDoesNotKnowFailsPlanningUnlessTheOperatorSkipsIt() throws Exception {
        h.sql("CREATE TABLE zerver_foo (id bigint PRIMARY KEY, realm_id integer);"
                + " CREATE TABLE corporate_bar (id bigint PRIMARY KEY)"); // not an app Zulip's export classifies
        try {
            String prefix = h.newPrefix();
            try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
                h.request(prefix, "unknown-table", "", "full");
                ExportStatus failed = statuses(prefix, ExportId.forRequest("unknown-table"), 1).get(0);
                assertThat(failed.state()).isEqualTo(ExportState.FAILED);
                assertThat(failed.error()).isEqualTo("this database has tables realm-export does not know: zerver_foo;"
                        + " upgrade realm-export, or list them in `tables.skip` to export without them");
                assertThat(tasks(prefix, failed.exportId())).isEmpty();
            }
            prefix = h.newPrefix();
            Map<String, Object> config = new java.util.HashMap<>(h.config(prefix));
            config.put("tables.skip", "zerver_foo,zerver_not_there");
            try (ExportProducer producer = new ExportProducer(config).start()) {
                h.request(prefix, "skipped-table", "", "full");
                ExportStatus planned = statuses(prefix, ExportId.forRequest("skipped-table"), 1).get(0);
                assertThat(planned.state()).isEqualTo(ExportState.PLANNED);
                assertThat(planned.skippedTables()).containsExactly("zerver_foo");
                assertThat(planned.withProgress(1, Map.of(), null).skippedTables()).containsExactly("zerver_foo");
            }
        } finally {
            h.sql("DROP TABLE zerver_foo; DROP TABLE corporate_bar");
        }
    }

    @Test
    void theOtherRealmIsPlannedFromItsOwnMessagesOnly() throws Exception {
        String prefix = h.newPrefix();
        try (ExportProducer producer = new ExportProducer(h.config(prefix)).start()) {
            h.request(prefix, "other", "other", "full");
            ExportStatus s = statuses(prefix, ExportId.forRequest("other"), 1).get(0);
            assertThat(s.realmId()).isEqualTo(ZulipFixture.OTHER);
            assertThat(s.messages()).isEqualTo(2500);
            assertThat(tasks(prefix, s.exportId()).subList(1, 4)).extracting(t -> t.firstId() % 10)
                    .containsOnly(1L); // carol's messages end in 1
        }
    }

    static JsonNode json(ConsumerRecord<String, byte[]> r) throws Exception {
        return Json.MAPPER.readTree(r.value());
    }
}
