package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.common.ExportId;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.topic.Topics;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.realmexport.cli.ExportFiles.idsOf;
import static org.realmexport.cli.ExportFiles.messageFiles;

/**
 * The whole pipeline on the embedded stack: the real producer, two real shard workers and the
 * assembler, exporting a generated realm pair, checked against the database row by row. Each
 * test runs its own deployment (a topic prefix of its own) on the class's stack and database.
 */
class ExportPipelineTest {
    private static final Duration WAIT = Duration.ofMinutes(4);

    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Path work;
    private static int deployments;
    private static Map<String, JsonNode> baselineManifest;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("export-pipeline-test");
        stack = EmbeddedStack.builder().s3(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(3500).withSeed(7)
                .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        if (stack != null) {
            stack.close();
        }
        try (Stream<Path> files = Files.walk(work)) {
            files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aTableThisBuildDoesNotKnowFailsTheExportNamingItAndTablesSkipLetsItGoListedInStatsAndVerify() throws Exception {
        update("CREATE TABLE zerver_frobnication (id bigint PRIMARY KEY, realm_id integer)");
        try {
            try (Deployment d = new Deployment()) {
                ExportStatus end = d.export(primaryRealm());
                assertThat(end.state()).isEqualTo(ExportState.FAILED);
                assertThat(end.error()).isEqualTo("this database has tables realm-export does not know:"
                        + " zerver_frobnication; upgrade realm-export, or list them in `tables.skip` to export without them");
            }
            try (Deployment d = Deployment.withSettings(Map.of("tables.skip", "zerver_frobnication"))) {
                ExportStatus end = d.export(primaryRealm());
                assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                assertThat(end.skippedTables()).containsExactly("zerver_frobnication");
                JsonNode stats = Json.MAPPER.readTree(d.exportDir(end).resolve("stats.json").toFile());
                assertThat(stats.get("skipped_tables").toString()).isEqualTo("[\"zerver_frobnication\"]");
                assertThat(problems(Path.of(end.tarball()))).containsExactly("stats.json: lists tables the export was"
                        + " made without (tables.skip): zerver_frobnication; their rows are not in the export");
            }
        } finally {
            update("DROP TABLE zerver_frobnication");
        }
    }

    @Test
    void aFullExportHoldsExactlyTheRealmsRowsAndVerifies() throws Exception {
        Path dir;
        try (Deployment d = new Deployment()) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(new ExportVerifier(work.resolve("v1")).verify(Path.of(end.tarball())).problems()).isEmpty();
            dir = d.exportDir(end);
        }
        long realm = realms.primary().realmId();

        // every message of the realm exactly once, in files of 1000, none of the other realm
        List<Long> exportedMessages = new ArrayList<>();
        List<Long> exportedUserMessages = new ArrayList<>();
        List<Long> sendingClients = new ArrayList<>();
        for (Path file : messageFiles(dir)) {
            JsonNode json = Json.MAPPER.readTree(file.toFile());
            json.get("zerver_message").forEach(m -> {
                exportedMessages.add(m.get("id").asLong());
                sendingClients.add(m.get("sending_client").asLong());
                assertThat(m.get("realm").asLong()).isEqualTo(realm);
                assertThat(m.has("search_tsvector")).isFalse();
            });
            json.get("zerver_usermessage").forEach(um -> {
                exportedUserMessages.add(um.get("id").asLong());
                assertThat(um.has("flags_mask")).isTrue();
                assertThat(um.has("flags")).isFalse();
            });
        }
        assertThat(exportedMessages).doesNotHaveDuplicates().isSorted()
                .isEqualTo(ids("SELECT id FROM zerver_message WHERE realm_id = " + realm + " ORDER BY id"));
        assertThat(exportedMessages).hasSize((int) realms.primary().messages());
        // usermessages of every exported (non-dummy) user of the realm, and only theirs
        assertThat(new TreeSet<>(exportedUserMessages)).containsExactlyElementsOf(ids(
                "SELECT um.id FROM zerver_usermessage um JOIN zerver_userprofile u ON u.id = um.user_profile_id"
                        + " JOIN zerver_message m ON m.id = um.message_id WHERE u.realm_id = " + realm
                        + " AND NOT u.is_mirror_dummy AND m.realm_id = " + realm + " ORDER BY um.id"));

        JsonNode realmJson = Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
        // reactions: exactly those on exported messages
        assertThat(idsOf(realmJson.get("zerver_reaction"))).isEqualTo(ids(
                "SELECT r.id FROM zerver_reaction r JOIN zerver_message m ON m.id = r.message_id"
                        + " WHERE m.realm_id = " + realm + " ORDER BY r.id"));
        // clients: every client a message or an activity row references, and no other
        TreeSet<Long> referenced = new TreeSet<>(sendingClients);
        realmJson.get("zerver_useractivity").forEach(a -> referenced.add(a.get("client").asLong()));
        assertThat(idsOf(realmJson.get("zerver_client"))).containsExactlyElementsOf(referenced);
        // secrets never leave the database
        realmJson.get("zerver_userprofile").forEach(u -> assertThat(u.has("api_key") || u.has("password")).isFalse());
        assertThat(idsOf(realmJson.get("zerver_userprofile"))).isEqualTo(ids(
                "SELECT id FROM zerver_userprofile WHERE realm_id = " + realm + " AND NOT is_mirror_dummy ORDER BY id"));

        // attachments: linked to an exported message or scheduled message, links cut to the export
        TreeSet<Long> messageSet = new TreeSet<>(exportedMessages);
        JsonNode attachments = Json.MAPPER.readTree(dir.resolve("attachment.json").toFile()).get("zerver_attachment");
        assertThat(idsOf(attachments)).isEqualTo(ids("SELECT DISTINCT a.id FROM zerver_attachment a"
                + " LEFT JOIN zerver_attachment_messages l ON l.attachment_id = a.id"
                + " LEFT JOIN zerver_message m ON m.id = l.message_id"
                + " LEFT JOIN zerver_attachment_scheduled_messages s ON s.attachment_id = a.id"
                + " WHERE a.realm_id = " + realm + " AND (m.realm_id = " + realm + " OR s.id IS NOT NULL) ORDER BY a.id"));
        for (JsonNode a : attachments) {
            a.get("messages").forEach(m -> assertThat(messageSet).contains(m.asLong()));
            assertThat(dir.resolve("uploads").resolve(a.get("path_id").asText())).exists()
                    .hasSize(a.get("size").asLong());
        }
    }

    @Test
    void messagesDeletedAndEditedAfterPlanningAreExportedAsTheyAreWhenTheirShardRuns() throws Exception {
        long realm = realms.primary().realmId();
        List<Long> all = ids("SELECT id FROM zerver_message WHERE realm_id = " + realm + " ORDER BY id");
        // attachments used by one message only (dropped with it), messages with reactions, and the rest spread out
        List<Long> withOwnAttachment = ids("SELECT min(l.message_id) FROM zerver_attachment_messages l"
                + " JOIN zerver_message m ON m.id = l.message_id WHERE m.realm_id = " + realm
                + " AND NOT EXISTS (SELECT 1 FROM zerver_attachment_scheduled_messages s WHERE s.attachment_id = l.attachment_id)"
                + " GROUP BY l.attachment_id HAVING count(*) = 1 ORDER BY 1 LIMIT 5");
        List<Long> withReactions = ids("SELECT DISTINCT r.message_id FROM zerver_reaction r JOIN zerver_message m"
                + " ON m.id = r.message_id WHERE m.realm_id = " + realm + " ORDER BY 1 LIMIT 5");
        // (not a scheduled message's delivered message: deleting one would take the scheduled message along)
        TreeSet<Long> delivered = new TreeSet<>(ids("SELECT delivered_message_id FROM zerver_scheduledmessage"
                + " WHERE delivered_message_id IS NOT NULL"));
        withOwnAttachment.removeAll(delivered);
        withReactions.removeAll(delivered);
        TreeSet<Long> deleted = new TreeSet<>(withOwnAttachment);
        deleted.addAll(withReactions);
        for (int i = 0; deleted.size() < 25; i++) {
            long id = all.get((int) ((i * 131L) % all.size()));
            if (!delivered.contains(id)) {
                deleted.add(id);
            }
        }
        TreeSet<Long> edited = new TreeSet<>();
        for (int i = 0; edited.size() < 10; i++) {
            long id = all.get((int) ((37 + i * 307L) % all.size()));
            if (!deleted.contains(id)) {
                edited.add(id);
            }
        }
        assertThat(withOwnAttachment).isNotEmpty();
        assertThat(withReactions).isNotEmpty();
        long otherStream = ids("SELECT r.id FROM zerver_recipient r JOIN zerver_stream s ON s.id = r.type_id"
                + " WHERE r.type = 2 AND s.realm_id = " + realm + " ORDER BY r.id DESC LIMIT 1").get(0);
        long movedToStream = edited.last();
        List<Long> deletedAttachments = ids("SELECT attachment_id FROM zerver_attachment_messages WHERE message_id IN ("
                + join(withOwnAttachment) + ")");
        List<Long> deletedReactions = ids("SELECT id FROM zerver_reaction WHERE message_id IN (" + join(deleted) + ")");

        LiveChanges changes = new LiveChanges(deleted, edited);
        try (Deployment d = Deployment.withWorkersHeldBack()) {
            String requestId = ExportId.newRequestId();
            d.post(requestId, primaryRealm(), "full");
            String exportId = ExportId.forRequest(requestId);
            ExportStatus planned = d.awaitPlanned(exportId);
            assertThat(planned.state()).as("error: %s", planned.error()).isEqualTo(ExportState.PLANNED);
            assertThat(planned.messages()).isEqualTo(all.size());
            assertThat(planned.tasksPlanned()).as("several shards").isGreaterThanOrEqualTo(4);

            changes.apply(otherStream, movedToStream);
            long deliveredLate = changes.deliverAScheduledMessage(realm);
            d.startWorkers();
            ExportStatus end = d.await(exportId);

            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(new ExportVerifier(work.resolve("v-live")).verify(Path.of(end.tarball())).problems()).isEmpty();
            Path dir = d.exportDir(end);

            List<Long> exported = new ArrayList<>();
            List<Long> exportedUserMessages = new ArrayList<>();
            Map<Long, JsonNode> editedRows = new HashMap<>();
            for (Path file : messageFiles(dir)) {
                JsonNode json = Json.MAPPER.readTree(file.toFile());
                json.get("zerver_message").forEach(m -> {
                    exported.add(m.get("id").asLong());
                    if (edited.contains(m.get("id").asLong())) {
                        editedRows.put(m.get("id").asLong(), m);
                    }
                });
                json.get("zerver_usermessage").forEach(um -> {
                    exportedUserMessages.add(um.get("id").asLong());
                    assertThat(deleted).doesNotContain(um.get("message").asLong());
                });
            }
            assertThat(exported).hasSize(all.size() - 25).doesNotContainAnyElementsOf(deleted)
                    .isEqualTo(ids("SELECT id FROM zerver_message WHERE realm_id = " + realm + " AND id <= "
                            + planned.watermark() + " ORDER BY id"));
            assertThat(editedRows).hasSize(10);
            editedRows.forEach((id, m) -> {
                assertThat(m.get("content").asText()).isEqualTo("edited while exporting " + id);
                if (id == movedToStream) {
                    assertThat(m.get("recipient").asLong()).isEqualTo(otherStream);
                    assertThat(m.get("subject").asText()).isEqualTo("moved while exporting");
                }
            });

            JsonNode realmJson = Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
            assertThat(idsOf(realmJson.get("zerver_reaction"))).doesNotContainAnyElementsOf(deletedReactions);
            // delivered after planning: its message is not exported, so neither is the link to it
            for (JsonNode scheduled : realmJson.get("zerver_scheduledmessage")) {
                if (scheduled.get("id").asLong() == deliveredLate) {
                    assertThat(scheduled.get("delivered").asBoolean()).isTrue();
                    assertThat(scheduled.get("delivered_message").isNull()).isTrue();
                }
            }
            assertThat(idsOf(realmJson.get("zerver_scheduledmessage"))).contains(deliveredLate);
            JsonNode attachments = Json.MAPPER.readTree(dir.resolve("attachment.json").toFile()).get("zerver_attachment");
            assertThat(idsOf(attachments)).doesNotContainAnyElementsOf(deletedAttachments);
            for (JsonNode a : attachments) {
                a.get("messages").forEach(m -> assertThat(deleted).doesNotContain(m.asLong()));
            }

            // stats.json and the status count what was written
            JsonNode stats = Json.MAPPER.readTree(dir.resolve("stats.json").toFile());
            long statsMessages = 0;
            long statsUserMessages = 0;
            for (Path file : messageFiles(dir)) {
                String stem = file.getFileName().toString().replace(".json", "");
                statsMessages += stats.get(stem).get("zerver_message").asLong();
                statsUserMessages += stats.get(stem).get("zerver_usermessage").asLong();
            }
            assertThat(statsMessages).isEqualTo(exported.size());
            assertThat(statsUserMessages).isEqualTo(exportedUserMessages.size());
            assertThat(end.messages()).isEqualTo(all.size());
            assertThat(end.messagesWritten()).isEqualTo(exported.size());
            assertThat(end.rows()).containsEntry("zerver_usermessage", (long) exportedUserMessages.size());
            java.io.StringWriter detail = new java.io.StringWriter();
            StatusCommand.printDetail(new java.io.PrintWriter(detail), end, List.of(), d.topics);
            assertThat(detail.toString()).contains("messages   " + exported.size() + " written of " + all.size() + " planned");
        } finally {
            changes.undo();
        }
    }

    /**
     * Deletes messages as Zulip does (with every row referencing them: usermessages, reactions,
     * attachment links ...) and edits others, keeping the originals to put them back, so that the
     * other tests see the generated database.
     */
    private static final class LiveChanges {
        private final TreeSet<Long> deleted;
        private final TreeSet<Long> edited;
        private final List<String> undo = new ArrayList<>();

        LiveChanges(TreeSet<Long> deleted, TreeSet<Long> edited) {
            this.deleted = deleted;
            this.edited = edited;
        }

        void apply(long otherStream, long movedToStream) throws Exception {
            String ids = join(deleted);
            List<String[]> references = new ArrayList<>();
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
                         + " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
                         + " WHERE c.contype = 'f' AND c.confrelid = 'zerver_message'::regclass ORDER BY 1, 2")) {
                while (rs.next()) {
                    references.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            update("CREATE TABLE live_saved_message AS SELECT * FROM zerver_message WHERE id IN (" + ids + ")");
            undo.add("INSERT INTO zerver_message SELECT * FROM live_saved_message");
            for (int i = 0; i < references.size(); i++) {
                String table = references.get(i)[0];
                String column = references.get(i)[1];
                update("CREATE TABLE live_saved_" + i + " AS SELECT * FROM " + table + " WHERE " + column + " IN (" + ids + ")");
                update("DELETE FROM " + table + " WHERE " + column + " IN (" + ids + ")");
                undo.add("INSERT INTO " + table + " SELECT * FROM live_saved_" + i);
            }
            update("DELETE FROM zerver_message WHERE id IN (" + ids + ")");
            update("CREATE TABLE live_saved_edits AS SELECT id, content, rendered_content, subject, recipient_id,"
                    + " last_edit_time FROM zerver_message WHERE id IN (" + join(edited) + ")");
            undo.add("UPDATE zerver_message m SET content = e.content, rendered_content = e.rendered_content,"
                    + " subject = e.subject, recipient_id = e.recipient_id, last_edit_time = e.last_edit_time"
                    + " FROM live_saved_edits e WHERE m.id = e.id");
            update("UPDATE zerver_message SET content = 'edited while exporting ' || id,"
                    + " rendered_content = '<p>edited while exporting ' || id || '</p>', last_edit_time = now()"
                    + " WHERE id IN (" + join(edited) + ")");
            update("UPDATE zerver_message SET recipient_id = " + otherStream + ", subject = 'moved while exporting'"
                    + " WHERE id = " + movedToStream);
        }

        /** A scheduled message of the realm is sent now: a new message, which the plan does not hold. */
        long deliverAScheduledMessage(long realm) throws Exception {
            long scheduled = ids("SELECT id FROM zerver_scheduledmessage WHERE realm_id = " + realm
                    + " AND NOT delivered ORDER BY id LIMIT 1").get(0);
            update("CREATE TABLE live_saved_scheduled AS SELECT * FROM zerver_scheduledmessage WHERE id = " + scheduled);
            update("CREATE TABLE live_new_message AS SELECT * FROM zerver_message WHERE id = (SELECT max(id) FROM"
                    + " zerver_message WHERE realm_id = " + realm + ")");
            update("UPDATE live_new_message SET id = (SELECT max(id) + 1 FROM zerver_message), date_sent = now()");
            long message = ids("SELECT id FROM live_new_message").get(0);
            update("INSERT INTO zerver_message SELECT * FROM live_new_message");
            update("UPDATE zerver_scheduledmessage SET delivered = true, delivered_message_id = " + message
                    + " WHERE id = " + scheduled);
            undo.add("UPDATE zerver_scheduledmessage t SET delivered = s.delivered,"
                    + " delivered_message_id = s.delivered_message_id FROM live_saved_scheduled s WHERE t.id = s.id");
            undo.add("DELETE FROM zerver_message WHERE id = " + message);
            return scheduled;
        }

        void undo() throws Exception {
            for (String sql : undo) {
                update(sql);
            }
            update("DROP TABLE IF EXISTS live_saved_message, live_saved_edits, live_saved_scheduled, live_new_message");
            for (int i = 0; i < undo.size(); i++) {
                update("DROP TABLE IF EXISTS live_saved_" + i);
            }
        }
    }

    private static String join(java.util.Collection<Long> ids) {
        return ids.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "));
    }

    @Test
    void twoExportsOfTheSameDatabaseHaveIdenticalManifests() throws Exception {
        Map<String, JsonNode> first = baseline();
        try (Deployment d = new Deployment()) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(manifest(d.exportDir(end))).isEqualTo(first);
        }
    }

    @Test
    void aWorkerKilledInTheMiddleOfAShardLeavesItToAnotherAndTheExportIsIdentical() throws Exception {
        Map<String, JsonNode> expected = baseline();
        AtomicReference<String> killedIn = new AtomicReference<>();
        // the first worker dies once, after writing a shard file and sending its result, before commit
        try (Deployment d = new Deployment(crashingOnceIn(ExportTask.Kind.MESSAGES, killedIn))) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(killedIn.get()).as("a worker was killed").isNotNull();
            assertThat(d.workers.get(0).isRunning()).isFalse();
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(end.tasksDone()).isEqualTo(end.tasksPlanned());
            assertThat(manifest(d.exportDir(end))).isEqualTo(expected);
        }
    }

    @Test
    void aWorkerKilledInTheMiddleOfAFileCopyBatchLeavesItToAnotherAndTheExportIsIdentical() throws Exception {
        Map<String, JsonNode> expected = baseline();
        AtomicReference<String> killedIn = new AtomicReference<>();
        // the first worker dies once, after copying a batch of uploads (files, parts and report written,
        // result sent), before commit: another worker copies the batch again
        try (Deployment d = new Deployment(crashingOnceIn(ExportTask.Kind.UPLOADS, killedIn))) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(killedIn.get()).as("a worker was killed").isNotNull();
            assertThat(d.workers.get(0).isRunning()).isFalse();
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(end.tasksDone()).isEqualTo(end.tasksPlanned());
            Map<String, JsonNode> manifest = manifest(d.exportDir(end));
            assertThat(manifest.keySet()).as("uploads were copied").anyMatch(p -> p.startsWith("uploads/")
                    && !p.equals("uploads/records.json"));
            assertThat(manifest).isEqualTo(expected);
        }
    }

    @Test
    void aWorkerStoppedWhileCopyingAFileLeavesItsBatchToAnotherAndTheExportIsIdentical() throws Exception {
        // a large upload of an exported message, so that a worker can be caught in the middle of copying it
        long realm = realms.primary().realmId();
        long message = ids("SELECT min(id) FROM zerver_message WHERE realm_id = " + realm).get(0);
        String pathId = realm + "/zz/large-upload/large.bin";
        Path upload = stack.uploadsDir().resolve("files").resolve(pathId);
        Files.createDirectories(upload.getParent());
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(upload.toFile(), "rw")) {
            f.setLength(256L * 1024 * 1024); // sparse: cheap to make, seconds to read, hash and compress
        }
        long attachment = ids("INSERT INTO zerver_attachment (file_name, path_id, create_time, size, content_type,"
                + " is_realm_public, is_web_public, owner_id, realm_id) VALUES ('large.bin', '" + pathId + "', now(), "
                + (256L * 1024 * 1024) + ", 'application/octet-stream', true, false, (SELECT sender_id FROM"
                + " zerver_message WHERE id = " + message + "), " + realm + ") RETURNING id").get(0);
        update("INSERT INTO zerver_attachment_messages (attachment_id, message_id) VALUES (" + attachment + ", "
                + message + ")");
        try {
            Map<String, JsonNode> expected;
            try (Deployment d = new Deployment()) {
                ExportStatus end = d.export(primaryRealm());
                assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                expected = manifest(d.exportDir(end));
                assertThat(expected).containsKey("uploads/" + pathId);
            }
            try (Deployment d = Deployment.withWorkersHeldBack()) {
                String requestId = ExportId.newRequestId();
                d.post(requestId, primaryRealm(), "full");
                String exportId = ExportId.forRequest(requestId);
                Path partial = d.output.resolve(ExportId.directoryName(exportId)).resolve("uploads/" + pathId).getParent();
                // one worker alone, stopped without waiting (like a kill) once the large file is half written
                ShardWorker doomed = new ShardWorker(doomedCfg(d)).start();
                try {
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (!halfWritten(partial)) {
                        assertThat(System.nanoTime()).as("a worker copies the large upload").isLessThan(deadline);
                        Thread.sleep(2);
                    }
                } finally {
                    doomed.close();
                }
                d.startWorkers();
                ExportStatus end = d.await(exportId);
                assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                assertThat(end.tasksDone()).isEqualTo(end.tasksPlanned());
                assertThat(manifest(d.exportDir(end))).isEqualTo(expected);
                // the batch holding the large file was committed once, by another worker
                List<TaskResult> copiedIt = d.results(exportId).stream().filter(r -> r.taskId().startsWith("uploads-"))
                        .filter(r -> reportNames(d.exportDir(end), r.taskId(), "uploads/" + pathId)).toList();
                assertThat(copiedIt).singleElement().satisfies(r -> assertThat(r.worker()).isNotEqualTo(
                        doomedCfg(d).get("worker.id")));
            }
        } finally {
            update("DELETE FROM zerver_attachment_messages WHERE attachment_id = " + attachment);
            update("DELETE FROM zerver_attachment WHERE id = " + attachment);
            Files.deleteIfExists(upload);
        }
    }

    /** A worker of the deployment that, when closed, abandons its task in flight at once. */
    private static Map<String, Object> doomedCfg(Deployment d) {
        Map<String, Object> cfg = new HashMap<>(d.cfg);
        cfg.put("worker.id", d.topics.prefix() + "-doomed");
        cfg.put("close.timeout.ms", 0);
        return cfg;
    }

    /** Whether the copy report of {@code taskId} lists {@code file}. */
    private static boolean reportNames(Path exportDir, String taskId, String file) {
        try {
            FileCopyReport report = Json.MAPPER.readValue(exportDir.resolve(FileCopyReport.path(taskId)).toFile(),
                    FileCopyReport.class);
            return report.copied().stream().anyMatch(c -> c.path().equals(file));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Whether a writer has a temporary file in {@code dir} (the file it is writing). */
    private static boolean halfWritten(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(p -> org.realmexport.common.storage.local.AtomicFile.isTemporary(
                    p.getFileName().toString()));
        } catch (IOException e) {
            return false; // not there yet
        }
    }

    @Test
    void postgresRestartedInTheMiddleOfAnExportLeavesItSucceededAndIdentical() throws Exception {
        Map<String, JsonNode> expected = baseline();
        AtomicReference<Deployment> deployment = new AtomicReference<>();
        AtomicReference<Thread> restarter = new AtomicReference<>();
        try (Deployment d = Deployment.hookingEveryWorker(task -> {
            // the first task to commit stops PostgreSQL under the rest of the export (fast shutdown:
            // open sessions are cut). It comes back once a worker has redone a task for that, or
            // after an outage of a few seconds when the workers had no query left (the finalizer's
            // queries then meet it).
            if (restarter.get() == null && restarter.compareAndSet(null, new Thread(() -> {
                long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                awaitTrue(() -> System.nanoTime() > until
                                || deployment.get().workers.stream().mapToLong(ShardWorker::tasksRedone).sum() > 0,
                        "a worker redoes a task, or the outage lasts 5 s");
                stack.startPostgres();
            }, "postgres-restarter"))) {
                stack.stopPostgres();
                restarter.get().start();
            }
        })) {
            deployment.set(d);
            ExportStatus end = d.export(primaryRealm());
            restarter.get().join();
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(manifest(d.exportDir(end))).isEqualTo(expected);
        } finally {
            stack.startPostgres(); // whatever happened, the next test has its database
        }
    }

    @Test
    void aKafkaBrokerRestartedInTheMiddleOfAnExportLeavesItToFinishIdentical() throws Exception {
        Map<String, JsonNode> expected = baseline();
        AtomicReference<String> restartedIn = new AtomicReference<>();
        try (Deployment d = Deployment.hookingEveryWorker(task -> {
            // the first task's result is sent, its transaction still open: the broker goes away
            // under it, the other worker, the producer and the assembler, and comes back
            if (restartedIn.compareAndSet(null, task.taskId())) {
                stack.stopKafka();
                stack.startKafka();
            }
        })) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(restartedIn.get()).as("the broker was restarted").isNotNull();
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            assertThat(end.tasksDone()).isEqualTo(end.tasksPlanned());
            assertThat(manifest(d.exportDir(end))).isEqualTo(expected);
        } finally {
            stack.startKafka();
        }
    }

    /** Waits (up to the test's patience) until the condition holds. */
    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not seen within " + WAIT + ": " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting until " + what, e);
            }
        }
    }

    @Test
    void theSameRequestTwiceIsOneExport() throws Exception {
        try (Deployment d = new Deployment()) {
            String requestId = ExportId.newRequestId();
            d.post(requestId, primaryRealm(), "full");
            d.post(requestId, primaryRealm(), "full");
            ExportStatus end = d.await(ExportId.forRequest(requestId));
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            Thread.sleep(1000); // a second plan, if any, would have been posted by now
            assertThat(d.board().exports()).singleElement().extracting(ExportStatus::exportId)
                    .isEqualTo(ExportId.forRequest(requestId));
            assertThat(d.tasksPosted()).isEqualTo(end.tasksPlanned());
            try (Stream<Path> tarballs = Files.list(d.output)) {
                assertThat(tarballs.filter(p -> p.toString().endsWith(".tar.gz"))).hasSize(1);
            }
        }
    }

    @Test
    void aMalformedRequestIsDeadLetteredAndTheNextGoodOneExports() throws Exception {
        try (Deployment d = new Deployment()) {
            byte[] garbage = "{\"v\": 1, \"realm\": ".getBytes(StandardCharsets.UTF_8);
            d.send(d.topics.requests(), "broken", garbage);
            ExportStatus end = d.export(primaryRealm());
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            List<DeadLetter> dead = d.deadLetters();
            assertThat(dead).singleElement().satisfies(letter -> {
                assertThat(letter.topic()).isEqualTo(d.topics.requests());
                assertThat(Base64.getDecoder().decode(letter.originalValue())).isEqualTo(garbage);
                assertThat(letter.error()).isNotBlank();
            });
        }
    }

    @Test
    void anUnknownRealmFails() throws Exception {
        try (Deployment d = new Deployment()) {
            ExportStatus end = d.export("no-such-realm");
            assertThat(end.state()).isEqualTo(ExportState.FAILED);
            assertThat(end.error()).contains("no-such-realm");
        }
    }

    @Test
    void anUploadPathWithDotDotFailsTheExportNamingIt() throws Exception {
        long realm = realms.primary().realmId();
        long attachment = ids("SELECT a.id FROM zerver_attachment a JOIN zerver_attachment_messages l"
                + " ON l.attachment_id = a.id JOIN zerver_message m ON m.id = l.message_id"
                + " WHERE m.realm_id = " + realm + " ORDER BY a.id LIMIT 1").get(0);
        String original = text("SELECT path_id FROM zerver_attachment WHERE id = " + attachment);
        String evil = realm + "/../../../etc/passwd";
        update("UPDATE zerver_attachment SET path_id = '" + evil + "' WHERE id = " + attachment);
        try (Deployment d = new Deployment()) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(end.state()).isEqualTo(ExportState.FAILED);
            assertThat(end.error()).contains(evil);
        } finally {
            update("UPDATE zerver_attachment SET path_id = '" + original.replace("'", "''") + "' WHERE id = " + attachment);
        }
    }

    @Test
    void verifyRejectsAMissingMessageFileAChangedByteAndAUsermessageOfAMissingMessage(@TempDir Path temp)
            throws Exception {
        Path tarball;
        try (Deployment d = new Deployment()) {
            ExportStatus end = d.export(primaryRealm());
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            tarball = Path.of(end.tarball());
        }
        assertThat(runVerify(tarball)).isEqualTo(RealmExportCommand.OK);

        Path missing = rewrite(tarball, temp.resolve("missing.tar.gz"), name -> name.endsWith("/messages-000002.json"),
                bytes -> null);
        assertThat(problems(missing)).anyMatch(p -> p.contains("messages-000002.json"));

        Path changed = rewrite(tarball, temp.resolve("changed.tar.gz"), name -> name.endsWith("/messages-000001.json"),
                bytes -> {
                    byte[] copy = bytes.clone();
                    int i = new String(copy, StandardCharsets.ISO_8859_1).indexOf("\"content\"") + 12;
                    copy[i] = (byte) (copy[i] == 'x' ? 'y' : 'x');
                    return copy;
                });
        assertThat(problems(changed)).anyMatch(p -> p.contains("messages-000001.json") && p.contains("sha256"));

        Path orphan = rewrite(tarball, temp.resolve("orphan.tar.gz"), name -> name.endsWith("/messages-000001.json"),
                bytes -> {
                    try {
                        ObjectNode json = (ObjectNode) Json.MAPPER.readTree(bytes);
                        ((ObjectNode) json.get("zerver_usermessage").get(0)).put("message", 999_999_999L);
                        return Json.MAPPER.writeValueAsBytes(json);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
        assertThat(problems(orphan)).anyMatch(p -> p.contains("999999999"));
        for (Path broken : List.of(missing, changed, orphan)) {
            assertThat(runVerify(broken)).as("verify %s", broken).isEqualTo(RealmExportCommand.FAILED);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static String primaryRealm() {
        return realms.primary().stringId();
    }

    /** The manifest of one export made by an undisturbed deployment, computed once. */
    private static synchronized Map<String, JsonNode> baseline() throws Exception {
        if (baselineManifest == null) {
            try (Deployment d = new Deployment()) {
                ExportStatus end = d.export(primaryRealm());
                assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                baselineManifest = manifest(d.exportDir(end));
            }
        }
        return baselineManifest;
    }

    private static Map<String, JsonNode> manifest(Path dir) throws IOException {
        Map<String, JsonNode> files = new LinkedHashMap<>();
        Json.MAPPER.readTree(dir.resolve("manifest.json").toFile()).get("files").fields()
                .forEachRemaining(e -> files.put(e.getKey(), e.getValue()));
        assertThat(files).isNotEmpty();
        return files;
    }

    private static List<Long> ids(String sql) throws Exception {
        List<Long> ids = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    private static String text(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    private static void update(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl()); Statement st = c.createStatement()) {
            st.executeUpdate(sql);
        }
    }

    private static List<String> problems(Path tarball) throws IOException {
        List<String> problems = new ExportVerifier(work.resolve("verify-" + tarball.getFileName())).verify(tarball).problems();
        assertThat(problems).as("verify finds the damage in %s", tarball).isNotEmpty();
        return problems;
    }

    private static int runVerify(Path path) {
        return RealmExportCommand.commandLine(new RealmExportCommand(Map.of(), StopSignal::fromProcess))
                .execute("verify", path.toString());
    }

    /** Copies a tarball, replacing (or, when the function returns null, dropping) the matching entries. */
    private static Path rewrite(Path from, Path to, java.util.function.Predicate<String> which,
                                UnaryOperator<byte[]> change) throws IOException {
        try (InputStream in = Files.newInputStream(from);
             TarArchiveInputStream tar = new TarArchiveInputStream(GzipCompressorInputStream.builder()
                     .setInputStream(in).setDecompressConcatenated(true).get());
             OutputStream out = Files.newOutputStream(to);
             TarArchiveOutputStream copy = new TarArchiveOutputStream(new GzipCompressorOutputStream(out))) {
            copy.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                byte[] bytes = tar.readAllBytes();
                if (which.test(entry.getName())) {
                    bytes = change.apply(bytes);
                    if (bytes == null) {
                        continue;
                    }
                }
                TarArchiveEntry next = new TarArchiveEntry(entry.getName());
                next.setSize(entry.isDirectory() ? 0 : bytes.length);
                next.setModTime(entry.getModTime());
                copy.putArchiveEntry(next);
                if (!entry.isDirectory()) {
                    copy.write(bytes);
                }
                copy.closeArchiveEntry();
            }
        }
        return to;
    }

    /** A worker that dies once, before committing the first task of {@code kind}, whose id it leaves in {@code killedIn}. */
    private static java.util.function.Consumer<ShardWorker> crashingOnceIn(ExportTask.Kind kind,
                                                                           AtomicReference<String> killedIn) {
        return worker -> worker.beforeCommit(task -> {
            if (task.kind() == kind && killedIn.compareAndSet(null, task.taskId())) {
                throw new ShardWorker.SimulatedCrash();
            }
        });
    }

    /** One deployment of the three services, with its own topic prefix, output dir and state. */
    private static final class Deployment implements AutoCloseable {
        final Topics topics;
        final Path output;
        final List<ShardWorker> workers = new ArrayList<>();
        private final ExportAssembler assembler;
        private final ExportProducer producer;
        private final KafkaProducer<String, byte[]> client;
        private StatusBoard board;

        Deployment() throws Exception {
            this(w -> { });
        }

        /** {@code firstWorker} adjusts the first of the two workers before it starts. */
        Deployment(java.util.function.Consumer<ShardWorker> firstWorker) throws Exception {
            this(firstWorker, true, false, Map.of());
        }

        /** Every worker runs {@code hook} before each commit of a task ({@link ShardWorker#beforeCommit}). */
        static Deployment hookingEveryWorker(java.util.function.Consumer<ExportTask> hook) throws Exception {
            return new Deployment(w -> w.beforeCommit(hook), true, true, Map.of());
        }

        /** Without workers until {@link #startWorkers()}: the export waits, PLANNED. */
        static Deployment withWorkersHeldBack() throws Exception {
            return new Deployment(w -> { }, false, false, Map.of());
        }

        /** With more settings for every service. */
        static Deployment withSettings(Map<String, Object> settings) throws Exception {
            return new Deployment(w -> { }, true, false, settings);
        }

        private final Map<String, Object> cfg = new HashMap<>();
        private final java.util.function.Consumer<ShardWorker> firstWorker;
        private final boolean everyWorker;

        private Deployment(java.util.function.Consumer<ShardWorker> firstWorker, boolean startWorkers,
                           boolean everyWorker, Map<String, Object> settings) throws Exception {
            this.firstWorker = firstWorker;
            this.everyWorker = everyWorker;
            String prefix = "it" + (++deployments);
            topics = new Topics(prefix);
            output = Files.createDirectories(work.resolve(prefix));
            cfg.put("bootstrap.servers", stack.kafkaBootstrap());
            cfg.put("topic.prefix", prefix);
            cfg.put("task.partitions", 4);
            cfg.put("jdbc.url", stack.jdbcUrl());
            cfg.put("uploads.dir", stack.uploadsDir().toString());
            cfg.put("avatar.salt", realms.avatarSalt()); // the workers copy the avatars
            cfg.putAll(settings);
            Map<String, Object> assemblerCfg = new HashMap<>(cfg);
            assemblerCfg.put("state.dir", work.resolve(prefix + "-state").toString());
            assemblerCfg.put("commit.interval.ms", 100);
            assemblerCfg.put("statestore.cache.max.bytes", 0);
            assembler = new ExportAssembler(assemblerCfg);
            assembler.start();
            producer = new ExportProducer(cfg).start();
            if (startWorkers) {
                startWorkers();
            }
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
            client = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        }

        void startWorkers() throws Exception {
            for (int i = 1; i <= 2; i++) {
                Map<String, Object> workerCfg = new HashMap<>(cfg);
                workerCfg.put("worker.id", topics.prefix() + "-w" + i);
                ShardWorker worker = new ShardWorker(workerCfg);
                if (i == 1 || everyWorker) {
                    firstWorker.accept(worker);
                }
                workers.add(worker.start());
            }
        }

        /** Waits until the export is PLANNED (its tasks are posted). */
        ExportStatus awaitPlanned(String exportId) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                board().poll(Duration.ofMillis(200));
                ExportStatus status = board().get(exportId);
                if (status != null) {
                    return status;
                }
            }
            throw new AssertionError("export " + exportId + " was not planned within " + WAIT);
        }

        StatusBoard board() {
            if (board == null) {
                board = new StatusBoard(reader(), topics.status());
            }
            return board;
        }

        ExportStatus export(String realm) throws Exception {
            String requestId = ExportId.newRequestId();
            post(requestId, realm, "full");
            return await(ExportId.forRequest(requestId));
        }

        void post(String requestId, String realm, String type) throws Exception {
            RequestCommand.post(KafkaClients.config(Map.of("bootstrap.servers", stack.kafkaBootstrap(),
                    "topic.prefix", topics.prefix())), realm, ExportType.parse(type), output.toUri(), requestId);
        }

        void send(String topic, String key, byte[] value) throws Exception {
            client.send(new ProducerRecord<>(topic, key, value)).get();
        }

        ExportStatus await(String exportId) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                board().poll(Duration.ofMillis(200));
                ExportStatus status = board().get(exportId);
                if (status != null && status.state().terminal()) {
                    return status;
                }
            }
            throw new AssertionError("export " + exportId + " did not end within " + WAIT + ": " + board().get(exportId));
        }

        Path exportDir(ExportStatus status) {
            return output.resolve(ExportId.directoryName(status.exportId()));
        }

        long tasksPosted() {
            return readAll(topics.configTasks()).size() + readAll(topics.shardTasks()).size();
        }

        List<DeadLetter> deadLetters() throws IOException {
            List<DeadLetter> letters = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> r : readAll(topics.deadLetters())) {
                letters.add(Json.fromBytes(r.value(), DeadLetter.class));
            }
            return letters;
        }

        /** The committed task results of an export. */
        List<TaskResult> results(String exportId) throws IOException {
            List<TaskResult> results = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> r : readAll(topics.shardResults())) {
                if (exportId.equals(r.key())) {
                    results.add(Json.fromBytes(r.value(), TaskResult.class));
                }
            }
            return results;
        }

        private List<ConsumerRecord<String, byte[]>> readAll(String topic) {
            List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(reader(), new StringDeserializer(),
                    new ByteArrayDeserializer())) {
                var partitions = consumer.partitionsFor(topic).stream()
                        .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                Map<org.apache.kafka.common.TopicPartition, Long> ends = consumer.endOffsets(partitions);
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))
                        && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(200)).forEach(all::add);
                }
            }
            return all;
        }

        private Properties reader() {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            return props;
        }

        @Override
        public void close() throws Exception {
            if (board != null) {
                board.close();
            }
            client.close(Duration.ofSeconds(2));
            for (ShardWorker worker : workers) {
                worker.close();
            }
            producer.close();
            assembler.close();
        }
    }
}
