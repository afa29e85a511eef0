package org.realmexport.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.common.ExportId;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.producer.RealmExportWatcher;
import org.realmexport.worker.ShardWorker;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exports asked for the way Zulip's web UI asks: a zerver_realmexport row inserted by plain SQL,
 * captured by the watcher (Debezium), exported by the real services, and written back to the row.
 */
class RealmExportWatchTest {
    private static final Duration WAIT = Duration.ofMinutes(3);

    private static EmbeddedStack stack;
    private static GeneratedRealms realms;
    private static Path work;
    private static int deployments;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("realmexport-watch-test");
        stack = EmbeddedStack.builder().s3(false).start();
        realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(1500).withSeed(11)
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
    void aRowInsertedBySqlIsExportedAndEndsInStatus3WithTheTarballsChecksum() throws Exception {
        Map<String, Object> config = deployment();
        try (ExportAssembler assembler = new ExportAssembler(assemblerConfig(config));
             ExportProducer producer = new ExportProducer(config);
             ShardWorker worker = new ShardWorker(config);
             RealmExportWatcher watcher = new RealmExportWatcher(config)) {
            assembler.start();
            producer.start();
            worker.start();
            watcher.start();
            long row = insertRow(3, realms.primary().realmId());
            Map<String, Object> end = awaitRowEnd(row);
            assertThat(end.get("status")).as("row %s", end).isEqualTo(3);
            Path tarball = Path.of((String) end.get("export_path"));
            assertThat(tarball).isRegularFile().hasFileName(
                    ExportId.directoryName(ExportId.forRequest(RealmExportWatcher.requestId(row))) + ".tar.gz");
            assertThat(end.get("sha256sum_hex")).isEqualTo(sha256(tarball));
            assertThat(end.get("tarball_size_bytes")).isEqualTo(Files.size(tarball));
            assertThat(end.get("date_started")).isNotNull();
            assertThat(end.get("date_succeeded")).isNotNull();
            assertThat((String) end.get("stats")).contains("zerver_message");
        }
    }

    @Test
    void aRowIsStartedWhenItsRequestIsPostedBeforeAnyPlan() throws Exception {
        Map<String, Object> config = deployment();
        // no producer runs: nothing plans the request (no PLANNED status), only the watcher marks the row
        try (RealmExportWatcher watcher = new RealmExportWatcher(config)) {
            watcher.start();
            long row = insertRow(3, realms.primary().realmId());
            Map<String, Object> started = awaitRow(row, 2, 3, 4);
            assertThat(started.get("status")).as("row %s", started).isEqualTo(2);
            assertThat(started.get("date_started")).isNotNull();
            assertThat(started.get("date_succeeded")).isNull();
        }
    }

    @Test
    void aRowInsertedWhileTheProducerIsDownIsExportedOnceWhenItComesBack() throws Exception {
        Map<String, Object> config = deployment();
        config.put("watch.offsets.file", work.resolve("offsets-" + deployments + ".dat").toString());
        try (ExportAssembler assembler = new ExportAssembler(assemblerConfig(config));
             ShardWorker worker = new ShardWorker(config)) {
            assembler.start();
            worker.start();
            // the first start creates the slot; then the producer and its watcher go down
            try (ExportProducer producer = new ExportProducer(config);
                 RealmExportWatcher watcher = new RealmExportWatcher(config)) {
                producer.start();
                watcher.start();
            }
            long row = insertRow(3, realms.primary().realmId());
            try (ExportProducer producer = new ExportProducer(config);
                 RealmExportWatcher watcher = new RealmExportWatcher(config)) {
                producer.start();
                watcher.start();
                Map<String, Object> end = awaitRowEnd(row);
                assertThat(end.get("status")).as("row %s", end).isEqualTo(3);
            }
            // a later start sees the row again (as after a crash before its offset was stored): still one export
            config.put("watch.offsets.file", work.resolve("offsets-lost-" + deployments + ".dat").toString());
            config.put("watch.snapshot.mode", "always");
            long second = insertRow(3, realms.primary().realmId());
            try (ExportProducer producer = new ExportProducer(config);
                 RealmExportWatcher watcher = new RealmExportWatcher(config)) {
                producer.start();
                watcher.start();
                assertThat(awaitRowEnd(second).get("status")).isEqualTo(3);
            }
            Topics topics = new Topics((String) config.get("topic.prefix"));
            try (StatusBoard board = new StatusBoard(readerProperties(), topics.status())) {
                board.catchUp(Duration.ofSeconds(30));
                long exportsOfRow = board.exports().stream().filter(s -> Long.valueOf(row).equals(s.realmExportId())).count();
                assertThat(exportsOfRow).isEqualTo(1);
                ExportStatus status = board.get(ExportId.forRequest(RealmExportWatcher.requestId(row)));
                assertThat(status.state()).isEqualTo(ExportState.SUCCEEDED);
            }
            assertThat(plannedStatuses(topics, row)).isEqualTo(1);
        }
    }

    @Test
    void aRowOfATypeThisBuildCannotExportEndsInStatus4() throws Exception {
        Map<String, Object> config = deployment();
        try (ExportProducer producer = new ExportProducer(config);
             RealmExportWatcher watcher = new RealmExportWatcher(config)) {
            producer.start();
            watcher.start();
            long row = insertRow(9, realms.primary().realmId());
            Map<String, Object> end = awaitRowEnd(row);
            assertThat(end.get("status")).isEqualTo(4);
            assertThat(end.get("date_failed")).isNotNull();
        }
    }

    /** PLANNED statuses ever posted for the row's export (the status topic keeps every record until compaction). */
    private static long plannedStatuses(Topics topics, long row) throws Exception {
        String exportId = ExportId.forRequest(RealmExportWatcher.requestId(row));
        long planned = 0;
        try (org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]> consumer =
                     new org.apache.kafka.clients.consumer.KafkaConsumer<>(readerProperties(),
                             new org.apache.kafka.common.serialization.StringDeserializer(),
                             new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(topics.status()).stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<org.apache.kafka.common.TopicPartition, Long> ends = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp)) && System.nanoTime() < deadline) {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if (exportId.equals(record.key()) && record.value() != null
                            && org.realmexport.common.Json.fromBytes(record.value(), ExportStatus.class).state()
                            == ExportState.PLANNED) {
                        planned++;
                    }
                }
            }
        }
        return planned;
    }

    private static Map<String, Object> deployment() {
        deployments++;
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", stack.kafkaBootstrap());
        c.put("topic.prefix", "watch" + deployments);
        c.put("task.partitions", 3);
        c.put("jdbc.url", stack.jdbcUrl());
        c.put("uploads.dir", stack.uploadsDir().toString());
        c.put("output.dir", work.resolve("out" + deployments).toString());
        c.put("watch.slot.name", "watch" + deployments);
        c.put("watch.publication.name", "watch" + deployments);
        c.put("watch.offset.flush.interval.ms", 100);
        return c;
    }

    private static Map<String, Object> assemblerConfig(Map<String, Object> config) {
        Map<String, Object> c = new HashMap<>(config);
        c.put("state.dir", work.resolve("state" + deployments).toString());
        c.put("avatar.salt", realms.avatarSalt());
        return c;
    }

    private static Properties readerProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", stack.kafkaBootstrap());
        p.put("isolation.level", "read_committed");
        return p;
    }

    /** As Zulip's web UI does: one row, status 1 (REQUESTED). */
    private static long insertRow(int type, long realmId) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             PreparedStatement ps = c.prepareStatement("INSERT INTO zerver_realmexport (type, status, date_requested,"
                     + " realm_id) VALUES (?, 1, now(), ?) RETURNING id")) {
            ps.setInt(1, type);
            ps.setLong(2, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Polls the row until its status is 3 or 4. */
    private static Map<String, Object> awaitRowEnd(long row) throws Exception {
        return awaitRow(row, 3, 4);
    }

    /** Polls the row until its status is one of {@code statuses} (or WAIT has passed). */
    private static Map<String, Object> awaitRow(long row, Integer... statuses) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT status, date_started, date_succeeded, date_failed, export_path,"
                         + " sha256sum_hex, tarball_size_bytes, stats::text AS stats FROM zerver_realmexport WHERE id = " + row)) {
                rs.next();
                Map<String, Object> values = new HashMap<>();
                values.put("status", rs.getInt("status"));
                for (String column : new String[] {"date_started", "date_succeeded", "date_failed", "export_path",
                        "sha256sum_hex", "stats"}) {
                    values.put(column, rs.getObject(column) == null ? null : rs.getObject(column).toString());
                }
                values.put("tarball_size_bytes", rs.getObject("tarball_size_bytes"));
                if (java.util.List.of(statuses).contains((Integer) values.get("status")) || System.nanoTime() > deadline) {
                    return values;
                }
            }
            Thread.sleep(200);
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
