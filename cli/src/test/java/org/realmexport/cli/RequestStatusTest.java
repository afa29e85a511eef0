package org.realmexport.cli;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.ConsumerLag;
import org.realmexport.common.topic.Topics;
import org.realmexport.localstack.EmbeddedStack;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** request and status against a real (embedded) Kafka broker; each test has its own topic prefix. */
class RequestStatusTest {
    static EmbeddedStack stack;
    static Map<String, String> env;

    @BeforeAll
    static void start() {
        stack = EmbeddedStack.builder().postgres(false).s3(false).uploads(false).start();
        env = Map.of("KAFKA_BOOTSTRAP", stack.kafkaBootstrap());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void requestCreatesTheTopicsPostsTheRequestAndPrintsTheExportId() throws Exception {
        CliRun run = CliRun.run(env, "request", "--topic-prefix", "req", "--realm", "acme", "--type", "public",
                "--output", "relative/out", "--request-id", "req-1");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo(ExportId.forRequest("req-1") + "\n");
        Topics topics = new Topics("req");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrap()))) {
            assertThat(admin.listTopics().names().get()).contains(topics.requests(), topics.configTasks(),
                    topics.shardTasks(), topics.shardResults(), topics.status(), topics.deadLetters());
        }
        List<ConsumerRecord<String, byte[]>> records = readAll(topics.requests(), 1);
        assertThat(records).singleElement().satisfies(r -> {
            assertThat(r.key()).isEqualTo("req-1");
            ExportRequest request = Json.fromBytes(r.value(), ExportRequest.class);
            assertThat(request.v()).isEqualTo(Versioned.CURRENT);
            assertThat(request.requestId()).isEqualTo("req-1");
            assertThat(request.realm()).isEqualTo("acme");
            assertThat(request.type()).isEqualTo("public");
            assertThat(request.output()).isEqualTo(Path.of("relative/out").toAbsolutePath().normalize().toUri());
            assertThat(request.realmExportId()).isNull();
        });
    }

    @Test
    void requestTakesAnS3LocationAndRefusesOtherSchemes() throws Exception {
        CliRun run = CliRun.run(env, "request", "--topic-prefix", "req3", "--realm", "acme", "--type", "full",
                "--output", "s3://exports/zulip/", "--request-id", "req-s3");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("into s3://exports/zulip ");
        ExportRequest request = Json.fromBytes(readAll(new Topics("req3").requests(), 1).get(0).value(),
                ExportRequest.class);
        assertThat(request.output()).isEqualTo(java.net.URI.create("s3://exports/zulip"));

        CliRun ftp = CliRun.run(env, "request", "--topic-prefix", "req3", "--realm", "acme", "--type", "full",
                "--output", "ftp://host/dir");
        assertThat(ftp.exitCode()).isEqualTo(2);
        assertThat(ftp.err()).contains("--output").contains("s3://bucket/prefix");
    }

    @Test
    void statusWithoutAStatusTopicSaysSo() {
        CliRun run = CliRun.run(env, "status", "--topic-prefix", "nothing-yet");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).isEqualTo("no exports yet (topic nothing-yet.status does not exist)\n");
    }

    @Test
    void statusShowsTheLatestStateOfEachExportAndTheConsumerLag() throws Exception {
        Topics topics = createTopics("st");
        send(topics.status(), status("aaaa", ExportState.PLANNED, 3, 0, null));
        send(topics.status(), status("aaaa", ExportState.PLANNED, 3, 0, null)
                .withProgress(2, Map.of("zerver_message", 1000L), 12_345_678L));
        send(topics.status(), status("bbbb", ExportState.FAILED, 0, 0, "unknown realm 'nope'"));
        for (int i = 0; i < 3; i++) {
            send(topics.shardTasks(), "task-" + i, new byte[] {1});
        }
        consumeAndCommit(topics.shardTasks(), topics.group("shard-workers"), 1);

        CliRun all = CliRun.run(env, "status", "--topic-prefix", "st");

        assertThat(all.exitCode()).as(all.err()).isZero();
        List<String> lines = all.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo(StatusCommand.HEADER);
        assertThat(lines).filteredOn(l -> l.startsWith("aaaa ")).singleElement().asString()
                .contains(" RUNNING ").contains(" 2/3 ").contains(" 12.3 MB ");
        assertThat(lines).filteredOn(l -> l.startsWith("bbbb ")).singleElement().asString()
                .contains(" FAILED ").endsWith("error: unknown realm 'nope'");
        // a backlog and no worker to take it: the group is STOPPED
        assertThat(lines).contains("consumer lag: st-shard-workers 2 (config-tasks 0, shard-tasks 2), 0 members, STOPPED, st-assembler 0 (shard-results 0), 0 members");

        CliRun one = CliRun.run(env, "status", "--topic-prefix", "st", "aaaa");
        assertThat(one.exitCode()).isZero();
        assertThat(one.out()).contains("state      RUNNING\n").contains("tasks      2/3 done\n")
                .contains("files      12.3 MB (12345678 bytes) written by the tasks\n");

        assertThat(CliRun.run(env, "status", "--topic-prefix", "st", "bbbb").exitCode()).isEqualTo(1);
        CliRun unknown = CliRun.run(env, "status", "--topic-prefix", "st", "cccc");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("no status for export cccc");
    }

    @Test
    void stalledIsJudgedPerExportFromTheKeysOfTheWaitingRecords() throws Exception {
        Topics topics = createTopics("stall");
        send(topics.status(), status("aaaa", ExportState.PLANNED, 3, 0, null));
        send(topics.status(), status("cccc", ExportState.PLANNED, 2, 0, null)
                .withProgress(1, Map.of("zerver_message", 10L), 100L));
        // aaaa's tasks wait; cccc's one task left is being worked on (taken), nothing of it waits
        send(topics.shardTasks(), "cccc/messages-000001", new byte[] {1});
        consumeAndCommit(topics.shardTasks(), topics.group("shard-workers"), 1);
        for (int i = 1; i <= 2; i++) {
            send(topics.shardTasks(), "aaaa/messages-00000" + i, new byte[] {1});
        }

        CliRun all = CliRun.run(env, "status", "--topic-prefix", "stall", "--stalled-after", "0");

        List<String> lines = all.out().lines().toList();
        assertThat(lines).filteredOn(l -> l.startsWith("aaaa ")).singleElement().asString().contains(" STALLED ");
        assertThat(lines).filteredOn(l -> l.startsWith("cccc ")).singleElement().asString()
                .contains(" RUNNING ").doesNotContain("STALLED");
        CliRun one = CliRun.run(env, "status", "--topic-prefix", "stall", "--stalled-after", "0", "aaaa");
        assertThat(one.out()).contains("state      PLANNED, STALLED: no task finished for ")
                .contains(" while 2 of its records wait ");
    }

    @Test
    void aLagNotCountedRecordByRecordCountsForEveryExport() {
        ConsumerLag estimated = new ConsumerLag("g", Map.of("t", 30_000L), List.of(), null);
        ConsumerLag counted = new ConsumerLag("g", Map.of("t", 3L), List.of(), Map.of("aaaa", 3L));

        assertThat(estimated.waitingFor("aaaa")).isEqualTo(30_000L);
        assertThat(counted.waitingFor("aaaa")).isEqualTo(3L);
        assertThat(counted.waitingFor("cccc")).isZero();
    }

    @Test
    void requestWaitFollowsTheExportToSuccess() throws Exception {
        Topics topics = createTopics("wait-ok");
        String exportId = ExportId.forRequest("req-ok");
        CompletableFuture<CliRun> waiting = CompletableFuture.supplyAsync(() -> CliRun.run(env, "request",
                "--topic-prefix", "wait-ok", "--realm", "7", "--type", "full", "--request-id", "req-ok",
                "--wait", "--timeout", "120"));
        readAll(topics.requests(), 1); // the request is posted: the producer would now plan it
        send(topics.status(), status(exportId, ExportState.PLANNED, 2, 0, null));
        send(topics.status(), status(exportId, ExportState.RUNNING, 2, 1, null));
        send(topics.status(), status(exportId, ExportState.PLANNED, 2, 0, null)
                .succeeded("/exports/zulip-export-" + exportId + ".tar.gz", "ab".repeat(32), 1234));

        CliRun run = waiting.get(150, TimeUnit.SECONDS);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo(exportId + "\n");
        assertThat(run.err()).contains("SUCCEEDED").contains("zulip-export-" + exportId + ".tar.gz");
    }

    @Test
    void watchingAFailedExportExits1() throws Exception {
        Topics topics = createTopics("wait-fail");
        send(topics.status(), status("ffff", ExportState.FAILED, 4, 1, "attachment 9 has no file"));

        CliRun run = CliRun.run(env, "status", "--topic-prefix", "wait-fail", "ffff", "--watch", "--timeout", "60");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.out()).contains("error      attachment 9 has no file");
    }

    @Test
    void theLagCountsRecordsNotTheMarkersOfTransactions() throws Exception {
        Topics topics = createTopics("lagtx");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers",
                stack.kafkaBootstrap(), "transactional.id", "lagtx-test"), new StringSerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            for (int i = 0; i < 3; i++) { // three transactions, as a producer plans three exports
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topics.shardTasks(), 0, "task-" + i, new byte[] {1}));
                producer.commitTransaction();
            }
        }
        consumeAndCommit(topics.shardTasks(), topics.group("shard-workers"), 2);
        CliRun behind = CliRun.run(env, "status", "--topic-prefix", "lagtx");
        assertThat(behind.out()).contains("consumer lag: lagtx-shard-workers 1 (config-tasks 0, shard-tasks 1), 0 members, STOPPED");

        consumeAndCommit(topics.shardTasks(), topics.group("shard-workers"), 1);
        CliRun done = CliRun.run(env, "status", "--topic-prefix", "lagtx");
        // end offset 6 (3 records + 3 commit markers), committed 5: nothing is left to do
        assertThat(done.out()).contains("consumer lag: lagtx-shard-workers 0 (config-tasks 0, shard-tasks 0), 0 members,");
    }

    // ------------------------------------------------------------------ helpers

    static ExportStatus status(String exportId, ExportState state, int planned, int done, String error) {
        return new ExportStatus(Versioned.CURRENT, exportId, "req-" + exportId, 2L, "acme", "full", state, planned,
                done, 5000, 1200, java.net.URI.create("file:///exports/zulip-export-" + exportId), null, null, null, Map.of(), error, null,
                System.currentTimeMillis());
    }

    static Topics createTopics(String prefix) throws Exception {
        Topics topics = new Topics(prefix);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrap()))) {
            topics.ensureCreated(admin, 2, (short) 1);
        }
        return topics;
    }

    static void send(String topic, ExportStatus status) throws Exception {
        send(topic, status.exportId(), Json.toBytes(status));
    }

    static void send(String topic, String key, byte[] value) throws Exception {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers",
                stack.kafkaBootstrap()), new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        }
    }

    /** Reads a topic from the beginning until {@code expected} records have arrived (or 60 s). */
    static List<ConsumerRecord<String, byte[]>> readAll(String topic, int expected) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers",
                stack.kafkaBootstrap(), "auto.offset.reset", "earliest", "enable.auto.commit", "false"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (partitions.isEmpty() && System.nanoTime() < deadline) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    /** Takes {@code n} records as a member of {@code group} and commits, as a worker would. */
    static void consumeAndCommit(String topic, String group, int n) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers",
                stack.kafkaBootstrap(), "group.id", group, "auto.offset.reset", "earliest",
                "enable.auto.commit", "false", "max.poll.records", String.valueOf(n),
                "isolation.level", "read_committed"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int taken = 0;
            while (taken < n && System.nanoTime() < deadline) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                taken += records.count();
            }
            assertThat(taken).isEqualTo(n);
            consumer.commitSync();
        }
    }
}
