package org.realmexport.assembler;

import org.realmexport.common.storage.Sha256;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportId;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.Json;
import org.realmexport.common.db.Database;
import org.realmexport.common.event.DeadLetter;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.TaskResult;
import org.realmexport.common.event.FileCopyReport;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.topic.Topics;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The assembler on the embedded stack (real Kafka, real PostgreSQL with the generator's realm,
 * real uploads directory), fed with task results as a worker would post them.
 */
class ExportAssemblerTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Database db;
    private static KafkaProducer<String, byte[]> producer;
    @TempDir
    static Path shared;

    /** One assembler for the tests that need no restart; each export is independent. */
    private static ExportAssembler assembler;
    private static SimpleMeterRegistry meters;
    private static Topics topics;
    private static StatusWatcher statuses;

    @BeforeAll
    static void startStack() throws Exception {
        stack = EmbeddedStack.builder().s3(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(2500)
                .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
        db = new Database(stack.jdbcUrl(), null, null, 2, "assembler-test");
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        String prefix = newPrefix();
        topics = new Topics(prefix);
        meters = new SimpleMeterRegistry();
        assembler = new ExportAssembler(config(prefix, shared.resolve("state")), meters);
        assembler.start();
        statuses = new StatusWatcher(stack.kafkaBootstrap(), topics.status());
    }

    @AfterAll
    static void stopStack() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {statuses, assembler, producer, db, stack}) {
            if (c != null) {
                c.close();
            }
        }
    }

    // ---------------------------------------------------------------- scenarios

    @Test
    void countsEachTaskOnceAndCompletesOnlyWhenEveryPlannedTaskReported() throws Exception {
        Fixture f = new Fixture(shared.resolve("out-once"));
        List<long[]> shards = f.shards(exportedMessages(m -> true));
        int planned = shards.size() + 1 + f.worker.copyBatches();
        assertThat(shards).hasSizeGreaterThanOrEqualTo(2);
        List<TaskResult> results = new ArrayList<>();
        results.add(f.worker.realmTask(planned));
        for (int i = 0; i < shards.size(); i++) {
            results.add(f.worker.shardTask(i + 1, shards.get(i), planned, false));
        }
        results.addAll(f.worker.copyTasks(planned, realms.avatarSalt()));
        post(f.worker.planned(planned, shards.stream().mapToLong(s -> s.length).sum()));
        // every task but the last, with duplicates of the first two (a worker retried after its commit was lost)
        for (int i = 0; i < results.size() - 1; i++) {
            post(results.get(i));
            if (i < 2) {
                post(results.get(i));
            }
        }
        ExportStatus running = statuses.await(f.exportId, s -> s.tasksDone() == planned - 1, WAIT);
        assertThat(running.state()).isEqualTo(ExportState.RUNNING);
        // the duplicates were consumed before the last distinct task: had one counted, done == planned already
        assertThat(statuses.history(f.exportId)).allSatisfy(s -> {
            assertThat(s.tasksDone()).isLessThan(planned);
            assertThat(s.state()).isIn(ExportState.PLANNED, ExportState.RUNNING);
        });

        post(results.get(results.size() - 1));
        ExportStatus end = statuses.awaitEnd(f.exportId, WAIT);
        assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
        assertThat(end.tasksDone()).isEqualTo(planned);
        assertThat(statuses.history(f.exportId)).filteredOn(s -> s.state() == ExportState.ASSEMBLING).hasSize(1);
        checkTarballAndManifest(f.worker.exportDir(), end);
        assertThat(end.rows()).containsKeys("zerver_message", "zerver_usermessage", "zerver_attachment",
                "zerver_reaction", "zerver_client");
        assertThat(meters.get("realm.export.assembler.exports.finalized").counter().count()).isPositive();
        assertThat(meters.get("realm.export.assembler.finalize").timer().count()).isPositive();
    }

    @Test
    void crossChecksAttachmentsAgainstTheExportedMessagesAndCopiesTheFiles() throws Exception {
        Fixture f = new Fixture(shared.resolve("out-attachments"));
        // leave out every 7th message of the realm, as a restricted export would
        List<Long> all = realmMessageIds();
        Set<Long> unexported = new HashSet<>();
        for (int i = 3; i < all.size(); i += 7) {
            unexported.add(all.get(i));
        }
        List<long[]> shards = f.shards(exportedMessages(id -> !unexported.contains(id)));
        long[] first = shards.get(0);
        long exportedInShard = first[10];
        long unexportedInShard = unexported.stream().filter(id -> id > first[0] && id < first[first.length - 1])
                .findFirst().orElseThrow();
        List<Long> added = new ArrayList<>();
        try (Connection c = writable()) {
            // A: used by an exported message and by an unexported one
            long a = insertAttachment(c, "a.txt", "/a-" + UUID.randomUUID() + "/a.txt");
            link(c, a, exportedInShard);
            link(c, a, unexportedInShard);
            // B: used only by an unexported message
            long b = insertAttachment(c, "b.txt", "/b-" + UUID.randomUUID() + "/b.txt");
            link(c, b, unexportedInShard);
            added.add(a);
            added.add(b);
            String pathA = pathIdOf(c, a);
            writeUpload(pathA, "attachment A");
            int planned = shards.size() + 1 + f.worker.copyBatches();
            post(f.worker.planned(planned, 0));
            post(f.worker.realmTask(planned));
            for (int i = 0; i < shards.size(); i++) {
                // careless: reports the links of every message in the shard's range, unexported ones too
                post(f.worker.shardTask(i + 1, shards.get(i), planned, true));
            }
            for (TaskResult copy : f.worker.copyTasks(planned, realms.avatarSalt())) {
                post(copy); // copies B's upload too (its message is in the realm): the assembler drops it
            }
            ExportStatus end = statuses.awaitEnd(f.exportId, WAIT);
            assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
            Path dir = f.worker.exportDir();

            Map<Long, JsonNode> rows = new TreeMap<>();
            for (JsonNode row : Json.MAPPER.readTree(dir.resolve("attachment.json").toFile()).get("zerver_attachment")) {
                rows.put(row.get("id").asLong(), row);
            }
            assertThat(rows).containsKey(a).doesNotContainKey(b);
            assertThat(ids(rows.get(a).get("messages"))).containsExactly(exportedInShard);

            // every attachment of the realm, decided independently from the database
            Set<Long> exported = new HashSet<>();
            shards.forEach(s -> Arrays.stream(s).forEach(exported::add));
            Map<Long, List<Long>> expected = expectedAttachments(c, exported);
            assertThat(rows.keySet()).containsExactlyElementsOf(expected.keySet());
            assertThat(expected.size()).isGreaterThan(2);
            for (Map.Entry<Long, List<Long>> e : expected.entrySet()) {
                assertThat(ids(rows.get(e.getKey()).get("messages"))).as("attachment %d", e.getKey())
                        .isEqualTo(e.getValue());
                assertThat(rows.get(e.getKey()).get("scheduled_messages").isArray()).isTrue();
                assertThat(rows.get(e.getKey()).get("owner").isIntegralNumber()).isTrue();
            }

            // uploads: exactly the exported attachments, byte for byte, with their records
            JsonNode uploads = Json.MAPPER.readTree(dir.resolve("uploads/records.json").toFile());
            List<String> paths = new ArrayList<>();
            uploads.forEach(r -> paths.add(r.get("path").asText()));
            List<String> expectedPaths = rows.values().stream().map(r -> r.get("path_id").asText()).sorted().toList();
            assertThat(paths).containsExactlyElementsOf(expectedPaths);
            for (JsonNode r : uploads) {
                Path copy = dir.resolve("uploads").resolve(r.get("path").asText());
                Path source = stack.uploadsDir().resolve("files").resolve(r.get("path").asText());
                assertThat(Files.mismatch(copy, source)).isEqualTo(-1L);
                assertThat(r.get("s3_path").asText()).isEqualTo(r.get("path").asText());
                assertThat(r.get("size").asLong()).isEqualTo(Files.size(source));
                assertThat(r.get("realm_id").asLong()).isEqualTo(f.realmId);
                assertThat(r.get("user_profile_email").asText()).contains("@");
            }

            // reactions on exported messages only, in id order; clients as reported
            JsonNode realm = Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
            List<Long> reactions = ids(realm.get("zerver_reaction"), "id");
            List<Long> expectedReactions = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id FROM zerver_reaction WHERE message_id = ANY(?) ORDER BY id")) {
                ps.setArray(1, c.createArrayOf("bigint", exported.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        expectedReactions.add(rs.getLong(1));
                    }
                }
            }
            assertThat(expectedReactions).isNotEmpty();
            assertThat(reactions).isEqualTo(expectedReactions);
            assertThat(ids(realm.get("zerver_client"), "id")).isNotEmpty().isSorted();

            checkMedia(dir, f.realmId);
            checkStats(dir);
            checkTarballAndManifest(dir, end);
        } finally {
            try (Connection c = writable()) {
                deleteAttachments(c, added);
            }
        }
    }

    @Test
    void aFailedTaskFailsTheExportWithItsErrorAndUnreadableRecordsAreDeadLettered() throws Exception {
        Fixture f = new Fixture(shared.resolve("out-failed"));
        post(f.worker.planned(3, 0));
        post(f.worker.realmTask(3));
        post(f.worker.failedTask("messages-000002", 3, "could not write messages-000002.json: No space left on device"));
        producer.send(new ProducerRecord<>(topics.shardResults(), f.exportId, "{not json".getBytes())).get();
        ExportStatus end = statuses.awaitEnd(f.exportId, WAIT);
        assertThat(end.state()).isEqualTo(ExportState.FAILED);
        assertThat(end.error()).contains("messages-000002").contains("No space left on device");
        assertThat(Files.exists(tarballOf(f.worker.exportDir()))).isFalse();

        try (StatusWatcher dlq = new StatusWatcher(stack.kafkaBootstrap(), topics.deadLetters())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (dlq.records(f.exportId).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(dlq.records(f.exportId)).hasSize(1);
            DeadLetter dead = Json.fromBytes(dlq.records(f.exportId).get(0), DeadLetter.class);
            assertThat(dead.topic()).isEqualTo(topics.shardResults());
            assertThat(new String(java.util.Base64.getDecoder().decode(dead.originalValue()))).isEqualTo("{not json");
        }
        assertThat(meters.get("realm.export.assembler.exports.failed").counter().count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aMissingUploadFailsTheExportNamingIt() throws Exception {
        Fixture f = new Fixture(shared.resolve("out-missing"));
        List<long[]> shards = f.shards(exportedMessages(m -> true));
        String pathId;
        try (Connection c = writable(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT a.path_id FROM zerver_attachment a JOIN zerver_attachment_messages l"
                     + " ON l.attachment_id = a.id WHERE a.realm_id = " + f.realmId + " AND l.message_id BETWEEN "
                     + shards.get(0)[0] + " AND " + shards.get(0)[shards.get(0).length - 1] + " ORDER BY a.id LIMIT 1")) {
            assertThat(rs.next()).isTrue();
            pathId = rs.getString(1);
        }
        Path file = stack.uploadsDir().resolve("files").resolve(pathId);
        Path aside = file.resolveSibling(file.getFileName() + ".aside");
        Files.move(file, aside);
        try {
            postEveryTask(f, shards);
            ExportStatus end = statuses.awaitEnd(f.exportId, WAIT);
            assertThat(end.state()).isEqualTo(ExportState.FAILED);
            assertThat(end.error()).contains("files/" + pathId).contains("missing");
            assertThat(Files.exists(tarballOf(f.worker.exportDir()))).isFalse();
        } finally {
            Files.move(aside, file, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    @Test
    void uploadedAvatarsWithoutTheSaltFailTheExportNamingThemUnlessAllowed(@TempDir Path temp) throws Exception {
        List<Long> uploaders = new ArrayList<>();
        try (Connection c = writable(); PreparedStatement ps = c.prepareStatement(
                "SELECT id FROM zerver_userprofile WHERE realm_id = ? AND avatar_source <> 'G' ORDER BY id")) {
            ps.setLong(1, realms.primary().realmId());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    uploaders.add(rs.getLong(1));
                }
            }
        }
        assertThat(uploaders).as("the generator gives some users an uploaded avatar").hasSizeGreaterThan(1);

        // no salt: the export fails, naming the first users whose avatar files cannot be found
        Fixture failing = new Fixture(temp.resolve("no-salt"));
        ExportFinalizer strict = new ExportFinalizer(db, localStores(), false, TarGzPart.DEFAULT_LEVEL, FinalizerHooks.NONE);
        List<TaskResult> results = failing.allTasks(null);
        assertThatThrownBy(() -> strict.finalizeExport(failing.worker.planned(results.size(), 0), each(results)))
                .isInstanceOf(ExportAnomaly.class)
                .hasMessageContaining(uploaders.size() + " files the export refers to are missing")
                .hasMessageContaining("the avatar of user " + uploaders.get(0) + " (")
                .hasMessageContaining("the avatar of user " + uploaders.get(1) + " (")
                .hasMessageContaining("avatar.salt is not set")
                .hasMessageContaining("uploads.allow.missing=true");
        assertThat(Files.exists(tarballOf(failing.worker.exportDir()))).isFalse();

        // allowed: the export is made without them, stats.json lists every one, verify reports them
        Fixture allowed = new Fixture(temp.resolve("allowed"));
        ExportFinalizer lenient = new ExportFinalizer(db, localStores(), true, TarGzPart.DEFAULT_LEVEL, FinalizerHooks.NONE);
        List<TaskResult> allowedResults = allowed.allTasks(null);
        ExportFinalizer.Finalized done = lenient.finalizeExport(allowed.worker.planned(allowedResults.size(), 0),
                each(allowedResults));
        JsonNode stats = Json.MAPPER.readTree(allowed.worker.exportDir().resolve("stats.json").toFile());
        assertThat(stats.get("avatars_records").asLong()).isZero();
        List<Long> listed = new ArrayList<>();
        for (JsonNode m : stats.get("missing_files")) {
            assertThat(m.get("category").asText()).isEqualTo("avatars");
            listed.add(m.get("user_profile_id").asLong());
        }
        assertThat(listed).isEqualTo(uploaders);
        // (the simulated worker's realm.json is a sketch, so only stats.json's lines are of interest here)
        List<String> problems = new ExportVerifier(temp.resolve("verify")).verify(Path.of(done.tarball())).problems();
        assertThat(problems).filteredOn(p -> p.startsWith("stats.json")).singleElement().asString()
                .contains("stats.json").contains(uploaders.size() + " files").contains("user_profile_id " + uploaders.get(0));
    }

    @Test
    void rowsReferringToAUserRealmJsonLacksFailTheExportNamingTheUser(@TempDir Path temp) throws Exception {
        // a user who joined after realm.json was written, and got usermessages of earlier messages
        long user;
        try (Connection c = writable(); PreparedStatement ps = c.prepareStatement(
                "SELECT um.user_profile_id FROM zerver_usermessage um JOIN zerver_message m ON m.id = um.message_id"
                        + " WHERE m.realm_id = ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")) {
            ps.setLong(1, realms.primary().realmId());
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                user = rs.getLong(1);
            }
        }
        Fixture f = new Fixture(temp);
        List<TaskResult> results = f.allTasks();
        results.set(0, f.worker.realmTask(results.size(), user));
        ExportFinalizer finalizer = new ExportFinalizer(db, localStores(), false, TarGzPart.DEFAULT_LEVEL,
                FinalizerHooks.NONE);

        assertThatThrownBy(() -> finalizer.finalizeExport(f.worker.planned(results.size(), 0), each(results)))
                .isInstanceOf(ExportAnomaly.class)
                .hasMessageContaining("usermessages of user " + user)
                .hasMessageContaining("realm.json does not hold")
                .hasMessageContaining("request the export again");
        assertThat(Files.exists(tarballOf(f.worker.exportDir()))).isFalse();
        // (the other exports of these tests, with every user in realm.json, finalize)
    }

    @Test
    void aStoredPathWithDotDotFailsTheExportNamingIt() throws Exception {
        Fixture f = new Fixture(shared.resolve("out-traversal"));
        List<long[]> shards = f.shards(exportedMessages(m -> true));
        List<Long> added = new ArrayList<>();
        try (Connection c = writable()) {
            long evil = insertAttachment(c, "passwd", "../../../../etc/passwd");
            added.add(evil);
            link(c, evil, shards.get(0)[5]);
            postEveryTask(f, shards);
            ExportStatus end = statuses.awaitEnd(f.exportId, WAIT);
            assertThat(end.state()).isEqualTo(ExportState.FAILED);
            assertThat(end.error()).contains("attachment " + evil).contains("../../../../etc/passwd");
            assertThat(Files.exists(f.worker.exportDir().resolve("uploads/etc/passwd"))).isFalse();
        } finally {
            try (Connection c = writable()) {
                deleteAttachments(c, added);
            }
        }
    }

    @Test
    void theResultsAndStatusTopicsAreCreatedWithOnePartitionCount() throws Exception {
        Topics t = new Topics(newPrefix());
        Properties props = new Properties();
        props.put("bootstrap.servers", stack.kafkaBootstrap());
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic(t.status(), 5, (short) 1))).all().get();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!admin.listTopics().names().get().contains(t.status()) && System.nanoTime() < deadline) {
                Thread.sleep(50); // created is not yet listed
            }
            t.ensureCreated(admin, 3, (short) 1);
            assertThat(Topics.partitionCounts(admin, List.of(t.shardResults(), t.status(), t.shardTasks())))
                    .containsEntry(t.shardResults(), 5).containsEntry(t.status(), 5).containsEntry(t.shardTasks(), 3);
        }
    }

    @Test
    void refusesToStartOnInputTopicsItWouldCountWrong(@TempDir Path temp) throws Exception {
        String prefix = newPrefix();
        Topics t = new Topics(prefix);
        Properties props = new Properties();
        props.put("bootstrap.servers", stack.kafkaBootstrap());
        try (Admin admin = Admin.create(props)) {
            // an earlier version's layout: 3 status partitions, the results topic with task.partitions
            admin.createTopics(List.of(new NewTopic(t.shardResults(), 4, (short) 1),
                    new NewTopic(t.status(), 3, (short) 1))).all().get();
            assertThatThrownBy(() -> new ExportAssembler(config(prefix, temp.resolve("state")), meters).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("topic " + t.shardResults() + " has 4 partitions and " + t.status() + " has 3")
                    .hasMessageContaining("--alter --topic " + t.status() + " --partitions 4");

            // counts made equal, but the earlier version's repartition topic holds a record it has not counted
            admin.createPartitions(Map.of(t.status(), NewPartitions.increaseTo(4))).all().get();
            String repartition = InputTopicsCheck.earlierRepartitionTopic(t);
            admin.createTopics(List.of(new NewTopic(repartition, 4, (short) 1))).all().get();
            RecordMetadata waiting = producer.send(new ProducerRecord<>(repartition, "e", "{}".getBytes())).get();
            assertThatThrownBy(() -> new ExportAssembler(config(prefix, temp.resolve("state")), meters).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(repartition + " of an earlier assembler version holds 1 record not yet counted");

            // drained by the earlier version: this one starts
            admin.alterConsumerGroupOffsets(t.group(ExportAssembler.SERVICE), Map.of(
                    new TopicPartition(repartition, waiting.partition()), new OffsetAndMetadata(waiting.offset() + 1)))
                    .all().get();
            try (ExportAssembler upgraded = new ExportAssembler(config(prefix, temp.resolve("state")), meters)) {
                upgraded.start();
            }
        }
    }

    @Test
    void restartedWhileCollectingItStillFinalizesExactlyOnce(@TempDir Path temp) throws Exception {
        for (boolean sameStateDir : new boolean[] {true, false}) {
            String prefix = newPrefix();
            Topics t = new Topics(prefix);
            Fixture f = new Fixture(temp.resolve("out-" + sameStateDir));
            List<long[]> shards = f.shards(exportedMessages(m -> true));
            int planned = shards.size() + 1 + f.worker.copyBatches();
            List<TaskResult> results = new ArrayList<>();
            results.add(f.worker.realmTask(planned));
            for (int i = 0; i < shards.size(); i++) {
                results.add(f.worker.shardTask(i + 1, shards.get(i), planned, false));
            }
            results.addAll(f.worker.copyTasks(planned, realms.avatarSalt()));
            try (StatusWatcher watcher = new StatusWatcher(stack.kafkaBootstrap(), createTopics(t))) {
                try (ExportAssembler first = new ExportAssembler(config(prefix, temp.resolve("state-1")), meters)) {
                    first.start();
                    post(t, f.worker.planned(planned, 0));
                    post(t, results.get(0));
                    post(t, results.get(1));
                    watcher.await(f.exportId, s -> s.tasksDone() == 2, WAIT);
                }
                Path stateDir = temp.resolve(sameStateDir ? "state-1" : "state-2");
                try (ExportAssembler second = new ExportAssembler(config(prefix, stateDir), meters)) {
                    second.start();
                    post(t, results.get(1)); // a redelivery of a task counted before the restart
                    for (int i = 2; i < results.size(); i++) {
                        post(t, results.get(i));
                    }
                    ExportStatus end = watcher.awaitEnd(f.exportId, WAIT);
                    assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                    assertThat(end.tasksDone()).isEqualTo(planned);
                    checkTarballAndManifest(f.worker.exportDir(), end);
                }
                // closed: whatever it would have posted is posted; read all of it
                watcher.awaitCaughtUp(WAIT);
                List<ExportStatus> history = watcher.history(f.exportId);
                assertThat(history).filteredOn(s -> s.state() == ExportState.ASSEMBLING).hasSize(1);
                assertThat(history).filteredOn(s -> s.state() == ExportState.SUCCEEDED).hasSize(1);
            }
        }
    }

    @Test
    void restartedWhileFinalizingItFinishesWithIdenticalBytes(@TempDir Path temp) throws Exception {
        String prefix = newPrefix();
        Topics t = new Topics(prefix);
        Fixture f = new Fixture(temp.resolve("out"));
        List<long[]> shards = f.shards(exportedMessages(m -> true));
        int planned = shards.size() + 1 + f.worker.copyBatches();
        List<TaskResult> results = new ArrayList<>();
        results.add(f.worker.realmTask(planned));
        for (int i = 0; i < shards.size(); i++) {
            results.add(f.worker.shardTask(i + 1, shards.get(i), planned, false));
        }
        results.addAll(f.worker.copyTasks(planned, realms.avatarSalt()));
        CountDownLatch blocked = new CountDownLatch(1);
        FinalizerHooks stopBeforeTarball = new FinalizerHooks() {
            @Override
            public void beforeTarball(String exportId) throws InterruptedException {
                blocked.countDown();
                new CountDownLatch(1).await(); // until the assembler is closed (interrupt)
            }
        };
        Path dir = f.worker.exportDir();
        Map<String, String> halfWay;
        try (StatusWatcher watcher = new StatusWatcher(stack.kafkaBootstrap(), createTopics(t))) {
            try (ExportAssembler first = new ExportAssembler(config(prefix, temp.resolve("state")), meters,
                    stopBeforeTarball)) {
                first.start();
                post(t, f.worker.planned(planned, 0));
                for (TaskResult r : results) {
                    post(t, r);
                }
                assertThat(blocked.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
                halfWay = checksums(dir);
            }
            assertThat(Files.exists(tarballOf(dir))).isFalse();
            assertThat(watcher.history(f.exportId)).noneMatch(s -> s.state().terminal());

            try (ExportAssembler second = new ExportAssembler(config(prefix, temp.resolve("state")), meters)) {
                second.start();
                ExportStatus end = watcher.awaitEnd(f.exportId, WAIT);
                assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                checkTarballAndManifest(dir, end);
                // every file and part written before the restart was written again with the same bytes
                Map<String, String> after = checksums(dir);
                assertThat(after).containsAllEntriesOf(halfWay);

                // and finalizing once more (as a finalizer that died after posting would) gives the same tarball
                ExportFinalizer again = new ExportFinalizer(db,
                        new ExportStores(new ExportAssemblerConfig(config(prefix, temp.resolve("state")))),
                        false, TarGzPart.DEFAULT_LEVEL, FinalizerHooks.NONE);
                ExportFinalizer.Finalized redo = again.finalizeExport(end, visitor -> {
                    for (TaskResult r : results) {
                        visitor.accept(r);
                    }
                });
                assertThat(redo.sha256()).isEqualTo(end.sha256());
                assertThat(redo.size()).isEqualTo(end.size());
                assertThat(checksums(dir)).isEqualTo(after);
            }
            watcher.awaitCaughtUp(WAIT);
            assertThat(watcher.history(f.exportId)).filteredOn(s -> s.state() == ExportState.SUCCEEDED).hasSize(1);
        }
    }

    // ---------------------------------------------------------------- checks

    /** Stores for exports on local disk only (no S3 settings). */
    private static ExportStores localStores() {
        return new ExportStores(new ExportAssemblerConfig(Map.of()));
    }

    private static Path tarballOf(Path exportDir) {
        return exportDir.resolveSibling(exportDir.getFileName() + ".tar.gz");
    }

    /** The tarball holds one top-level directory and exactly the manifest's files; all checksums agree. */
    private static void checkTarballAndManifest(Path dir, ExportStatus end) throws Exception {
        Path tarball = tarballOf(dir);
        assertThat(end.tarball()).isEqualTo(tarball.toString());
        assertThat(Files.size(tarball)).isEqualTo(end.size());
        assertThat(sha256(tarball)).isEqualTo(end.sha256());

        JsonNode manifest = Json.MAPPER.readTree(dir.resolve("manifest.json").toFile()).get("files");
        Map<String, String> listed = new TreeMap<>();
        manifest.fields().forEachRemaining(e -> {
            listed.put(e.getKey(), e.getValue().get("sha256").asText());
            assertThat(e.getValue().get("size").isIntegralNumber()).isTrue();
        });
        // the manifest lists every file of the directory but itself, .parts/ and the copy reports, with the
        // right checksums (and no upload but those of the kept attachments: see crossChecks...)
        Map<String, String> onDisk = checksums(dir);
        onDisk.keySet().removeIf(p -> p.startsWith(".parts/") || p.startsWith(FileCopyReport.DIRECTORY + "/")
                || p.equals("manifest.json") || (p.startsWith("uploads/") && !listed.containsKey(p)));
        assertThat(listed).isEqualTo(onDisk);
        manifest.fields().forEachRemaining(e -> {
            try {
                assertThat(e.getValue().get("size").asLong()).isEqualTo(Files.size(dir.resolve(e.getKey())));
            } catch (java.io.IOException ex) {
                throw new AssertionError(ex);
            }
        });
        assertThat(listed).containsKeys("realm.json", "attachment.json", "stats.json", "messages-000001.json",
                "uploads/records.json", "avatars/records.json", "emoji/records.json", "realm_icons/records.json");
        assertThat(listed.keySet()).noneMatch(p -> p.contains(".tmp"));

        String top = dir.getFileName().toString();
        Map<String, String> entries = new LinkedHashMap<>();
        List<String> directories = new ArrayList<>();
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarball), true);
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                assertThat(entry.getName()).startsWith(top + "/");
                if (entry.isDirectory()) {
                    directories.add(entry.getName());
                } else {
                    entries.put(entry.getName().substring(top.length() + 1),
                            HexFormat.of().formatHex(Sha256.digest().digest(tar.readAllBytes())));
                }
            }
        }
        assertThat(directories).containsExactly(top + "/");
        Map<String, String> expected = new TreeMap<>(listed);
        expected.put("manifest.json", sha256(dir.resolve("manifest.json")));
        assertThat(entries).isEqualTo(expected);
        assertThat(new ArrayList<>(entries.keySet())).isSorted();

        // GNU tar (what Zulip's importer runs) reads the concatenated gzip members the same way
        Path gnuTar = Path.of("/usr/bin/tar");
        if (Files.isExecutable(gnuTar)) {
            Process tar = new ProcessBuilder(gnuTar.toString(), "-tzf", tarball.toString()).redirectErrorStream(true)
                    .start();
            List<String> listing = new String(tar.getInputStream().readAllBytes()).lines().toList();
            assertThat(tar.waitFor()).as("tar -tzf: %s", listing).isZero();
            List<String> wanted = new ArrayList<>();
            wanted.add(top + "/");
            entries.keySet().forEach(e -> wanted.add(top + "/" + e));
            assertThat(listing).isEqualTo(wanted);
        }
    }

    /** stats.json counts what the files hold. */
    private static void checkStats(Path dir) throws Exception {
        JsonNode stats = Json.MAPPER.readTree(dir.resolve("stats.json").toFile());
        List<String> jsonFiles = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                    .filter(n -> !Set.of("stats.json", "manifest.json", "migration_status.json").contains(n))
                    .sorted().forEach(jsonFiles::add);
        }
        Set<String> expectedKeys = new TreeSet<>();
        for (String file : jsonFiles) {
            String stem = file.substring(0, file.length() - 5);
            expectedKeys.add(stem);
            JsonNode content = Json.MAPPER.readTree(dir.resolve(file).toFile());
            content.fields().forEachRemaining(e -> {
                if (e.getValue().isArray()) {
                    assertThat(stats.get(stem).get(e.getKey()).asLong()).as("%s %s", file, e.getKey())
                            .isEqualTo(e.getValue().size());
                }
            });
        }
        for (String category : CopiedFiles.CATEGORIES) {
            expectedKeys.add(category + "_records");
            assertThat(stats.get(category + "_records").asLong())
                    .isEqualTo(Json.MAPPER.readTree(dir.resolve(category + "/records.json").toFile()).size());
        }
        Set<String> keys = new TreeSet<>();
        stats.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).isEqualTo(expectedKeys);
    }

    /** Avatars, emoji and realm icons: the uploads directory's files of the realm, in Zulip's export layout. */
    private static void checkMedia(Path dir, long realmId) throws Exception {
        Path avatars = stack.uploadsDir().resolve("avatars").resolve(Long.toString(realmId));
        Set<String> expectedAvatars = new TreeSet<>();
        try (Stream<Path> list = Files.list(avatars)) {
            list.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("[0-9a-f]{40}\\.(png|original)"))
                    .forEach(n -> expectedAvatars.add(realmId + "/" + n));
        }
        assertThat(expectedAvatars).isNotEmpty();
        assertThat(recordPaths(dir, "avatars")).isEqualTo(expectedAvatars);
        for (JsonNode r : Json.MAPPER.readTree(dir.resolve("avatars/records.json").toFile())) {
            assertThat(r.get("user_profile_id").asLong()).isPositive();
            assertThat(r.has("avatar_version")).isTrue();
            assertThat(Files.mismatch(dir.resolve("avatars").resolve(r.get("path").asText()),
                    stack.uploadsDir().resolve("avatars").resolve(r.get("path").asText()))).isEqualTo(-1L);
        }
        Set<String> expectedEmoji = new TreeSet<>();
        try (Stream<Path> list = Files.list(avatars.resolve("emoji/images"))) {
            list.forEach(p -> expectedEmoji.add(realmId + "/emoji/images/" + p.getFileName()));
        }
        assertThat(recordPaths(dir, "emoji")).isEqualTo(expectedEmoji);
        Set<String> expectedIcons = new TreeSet<>();
        if (Files.isDirectory(avatars.resolve("realm"))) {
            try (Stream<Path> list = Files.list(avatars.resolve("realm"))) {
                list.forEach(p -> expectedIcons.add(realmId + "/" + p.getFileName()));
            }
        }
        assertThat(recordPaths(dir, "realm_icons")).isEqualTo(expectedIcons);
        for (String icon : expectedIcons) {
            assertThat(dir.resolve("realm_icons").resolve(icon)).exists();
        }
    }

    private static Set<String> recordPaths(Path dir, String category) throws Exception {
        Set<String> paths = new TreeSet<>();
        for (JsonNode r : Json.MAPPER.readTree(dir.resolve(category + "/records.json").toFile())) {
            paths.add(r.get("path").asText());
            assertThat(dir.resolve(category).resolve(r.get("path").asText())).isRegularFile();
        }
        return paths;
    }

    /** Attachment id -> sorted exported message ids, for the attachments Zulip would export. */
    private static Map<Long, List<Long>> expectedAttachments(Connection c, Set<Long> exported) throws Exception {
        long realmId = realms.primary().realmId();
        Map<Long, List<Long>> expected = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.id, l.message_id FROM zerver_attachment a"
                + " JOIN zerver_attachment_messages l ON l.attachment_id = a.id WHERE a.realm_id = ?"
                + " ORDER BY a.id, l.message_id")) {
            ps.setLong(1, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (exported.contains(rs.getLong(2))) {
                        expected.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getLong(2));
                    }
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT a.id FROM zerver_attachment a"
                + " JOIN zerver_attachment_scheduled_messages l ON l.attachment_id = a.id"
                + " JOIN zerver_scheduledmessage s ON s.id = l.scheduledmessage_id WHERE a.realm_id = ?"
                + " AND s.realm_id = ?")) {
            ps.setLong(1, realmId);
            ps.setLong(2, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    expected.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>());
                }
            }
        }
        return expected;
    }

    // ---------------------------------------------------------------- fixtures

    /** One export of the primary realm, written by a simulated worker. */
    /** Posts the PLANNED status and every task's result of {@code f}'s export: realm, shards, copy batches. */
    private static void postEveryTask(Fixture f, List<long[]> shards) throws Exception {
        int planned = shards.size() + 1 + f.worker.copyBatches();
        post(f.worker.planned(planned, 0));
        post(f.worker.realmTask(planned));
        for (int i = 0; i < shards.size(); i++) {
            post(f.worker.shardTask(i + 1, shards.get(i), planned, false));
        }
        for (TaskResult copy : f.worker.copyTasks(planned, realms.avatarSalt())) {
            post(copy);
        }
    }

    private static final class Fixture {
        final String exportId = ExportId.forRequest(UUID.randomUUID().toString());
        final long realmId = realms.primary().realmId();
        final SimulatedWorker worker;

        Fixture(Path outputRoot) throws Exception {
            worker = new SimulatedWorker(db, outputRoot, exportId, realmId, stack.uploadsDir());
        }

        /** The realm task, one task per shard of all the realm's messages and the file copy batches, as workers report them. */
        List<TaskResult> allTasks() throws Exception {
            return allTasks(realms.avatarSalt());
        }

        /** As {@link #allTasks()}, the file copy batches run by workers with that avatar salt (or none). */
        List<TaskResult> allTasks(String avatarSalt) throws Exception {
            List<long[]> shards = shards(exportedMessages(m -> true));
            int planned = shards.size() + 1 + worker.copyBatches();
            List<TaskResult> results = new ArrayList<>();
            results.add(worker.realmTask(planned));
            for (int i = 0; i < shards.size(); i++) {
                results.add(worker.shardTask(i + 1, shards.get(i), planned, false));
            }
            results.addAll(worker.copyTasks(planned, avatarSalt));
            return results;
        }

        /** Cuts the exported ids into shards of 1000, as the producer does. */
        List<long[]> shards(List<Long> exported) {
            List<long[]> shards = new ArrayList<>();
            for (int i = 0; i < exported.size(); i += 1000) {
                shards.add(exported.subList(i, Math.min(exported.size(), i + 1000)).stream()
                        .mapToLong(Long::longValue).toArray());
            }
            return shards;
        }
    }

    private static ExportFinalizer.TaskResults each(List<TaskResult> results) {
        return visitor -> {
            for (TaskResult r : results) {
                visitor.accept(r);
            }
        };
    }

    private static List<Long> realmMessageIds() throws Exception {
        List<Long> ids = new ArrayList<>();
        try (Connection c = writable(); PreparedStatement ps = c.prepareStatement(
                "SELECT id FROM zerver_message WHERE realm_id = ? ORDER BY id")) {
            ps.setLong(1, realms.primary().realmId());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
        }
        return ids;
    }

    private static List<Long> exportedMessages(java.util.function.LongPredicate keep) throws Exception {
        return realmMessageIds().stream().filter(keep::test).toList();
    }

    private static Connection writable() throws Exception {
        return DriverManager.getConnection(stack.jdbcUrl());
    }

    private static long insertAttachment(Connection c, String name, String pathId) throws Exception {
        long realmId = realms.primary().realmId();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO zerver_attachment (file_name, path_id,"
                + " create_time, size, content_type, is_realm_public, is_web_public, owner_id, realm_id)"
                + " VALUES (?, ?, now(), 12, 'text/plain', true, false,"
                + " (SELECT min(id) FROM zerver_userprofile WHERE realm_id = ?), ?) RETURNING id")) {
            ps.setString(1, name);
            ps.setString(2, pathId.startsWith("/") ? realmId + pathId : pathId);
            ps.setLong(3, realmId);
            ps.setLong(4, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static String pathIdOf(Connection c, long attachment) throws Exception {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT path_id FROM zerver_attachment WHERE id = " + attachment)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void writeUpload(String pathId, String content) throws Exception {
        Path file = stack.uploadsDir().resolve("files").resolve(pathId);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    private static void link(Connection c, long attachment, long message) throws Exception {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO zerver_attachment_messages (attachment_id, message_id) VALUES ("
                    + attachment + ", " + message + ")");
        }
    }

    private static void deleteAttachments(Connection c, List<Long> ids) throws Exception {
        try (Statement st = c.createStatement()) {
            for (long id : ids) {
                st.executeUpdate("DELETE FROM zerver_attachment_messages WHERE attachment_id = " + id);
                st.executeUpdate("DELETE FROM zerver_attachment WHERE id = " + id);
            }
        }
    }

    private static List<Long> ids(JsonNode list) {
        List<Long> out = new ArrayList<>();
        list.forEach(n -> out.add(n.asLong()));
        return out;
    }

    private static List<Long> ids(JsonNode rows, String field) {
        List<Long> out = new ArrayList<>();
        rows.forEach(n -> out.add(n.get(field).asLong()));
        return out;
    }

    private static Map<String, String> checksums(Path dir) throws Exception {
        Map<String, String> sums = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                sums.put(dir.relativize(p).toString().replace('\\', '/'), sha256(p));
            }
        }
        return sums;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(Sha256.digest().digest(Files.readAllBytes(file)));
    }

    private static String newPrefix() {
        return "asm" + PREFIXES.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Map<String, Object> config(String prefix, Path stateDir) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", stack.kafkaBootstrap());
        config.put("topic.prefix", prefix);
        config.put("task.partitions", 3);
        config.put("jdbc.url", stack.jdbcUrl());
        config.put("uploads.dir", stack.uploadsDir().toString());
        config.put("state.dir", stateDir.toString());
        config.put("commit.interval.ms", 100);
        config.put("statestore.cache.max.bytes", 0);
        config.put("progress.interval.ms", 0);
        config.put("finalizer.threads", 1);
        return config;
    }

    private static String createTopics(Topics t) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", stack.kafkaBootstrap());
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
            t.ensureCreated(admin, 3, (short) 1);
        }
        return t.status();
    }

    private static void post(TaskResult result) throws Exception {
        post(topics, result);
    }

    private static void post(ExportStatus status) throws Exception {
        post(topics, status);
    }

    private static void post(Topics t, TaskResult result) throws Exception {
        producer.send(new ProducerRecord<>(t.shardResults(), result.exportId(), Json.toBytes(result))).get();
    }

    private static void post(Topics t, ExportStatus status) throws Exception {
        producer.send(new ProducerRecord<>(t.status(), status.exportId(), Json.toBytes(status))).get();
    }
}
