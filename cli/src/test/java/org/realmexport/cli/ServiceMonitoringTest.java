package org.realmexport.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.common.ExportType;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.Topics;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Watching the services as an operator (or an autoscaler) does: /metrics of each service over
 * HTTP and `realm-export status`, while an export's tasks wait with no worker running (lag above
 * zero, the workers' group STOPPED, the export STALLED), and once a worker has done them (lag 0).
 */
class ServiceMonitoringTest {
    private static final Duration WAIT = Duration.ofMinutes(3);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void metricsAndStatusShowTheBacklogWhileNoWorkerRunsAndNoneOnceTheExportIsDone(@TempDir Path temp) throws Exception {
        try (EmbeddedStack stack = EmbeddedStack.builder().s3(false).start()) {
            GeneratedRealms realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(2500).withSeed(5)
                    .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
            Map<String, Object> config = new HashMap<>();
            config.put("bootstrap.servers", stack.kafkaBootstrap());
            config.put("topic.prefix", "mon");
            config.put("task.partitions", 3);
            config.put("jdbc.url", stack.jdbcUrl());
            config.put("uploads.dir", stack.uploadsDir().toString());
            config.put("metrics.port", 0);
            config.put("avatar.salt", realms.avatarSalt()); // the workers copy the avatars
            Map<String, Object> assemblerConfig = new HashMap<>(config);
            assemblerConfig.put("state.dir", temp.resolve("state").toString());
            Map<String, String> env = Map.of("KAFKA_BOOTSTRAP", stack.kafkaBootstrap());
            Topics topics = new Topics("mon");
            try (ExportAssembler assembler = new ExportAssembler(assemblerConfig);
                 ExportProducer producer = new ExportProducer(config)) {
                assembler.start();
                producer.start();
                RealmExportConfig cfg = new RealmExportConfig(RealmExportConfig.baseConfigDef(), config);
                String exportId = RequestCommand.post(cfg, Integer.toString(realms.primary().realmId()), ExportType.FULL,
                        temp.resolve("out").toUri(), null);
                ExportStatus planned = awaitStatus(stack, topics, exportId, s -> s.state() == ExportState.PLANNED);
                int tasks = planned.tasksPlanned(); // the realm config + the shards and file copy batches
                assertThat(tasks).isGreaterThan(2);

                // no worker: every task waits
                CliRun waiting = CliRun.run(env, "status", "--topic-prefix", "mon", "--stalled-after", "0");
                assertThat(waiting.exitCode()).as(waiting.err()).isZero();
                assertThat(waiting.out()).contains("mon-shard-workers " + tasks + " (config-tasks 1, shard-tasks " + (tasks - 1)
                        + "), 0 members, STOPPED");
                assertThat(waiting.out().lines().filter(l -> l.startsWith(exportId))).singleElement().asString()
                        .contains(" STALLED ").contains(" 0/" + tasks + " ");
                CliRun detail = CliRun.run(env, "status", "--topic-prefix", "mon", "--stalled-after", "0", exportId);
                assertThat(detail.out()).contains("state      PLANNED, STALLED: no task finished for");
                // the default patience: a fresh export is not STALLED yet
                assertThat(CliRun.run(env, "status", "--topic-prefix", "mon").out()).doesNotContain("STALLED");

                // the gauge is refreshed every 5 s: one refresh may have seen the request before it was planned
                String producerMetrics = scrape(producer.metricsPort(),
                        m -> m.contains("realm_export_consumer_lag{group=\"mon-producer\",topic=\"mon.requests\"} 0.0"));
                assertThat(producerMetrics).contains("realm_export_exports_total{service=\"producer\",state=\"PLANNED\"} 1.0");
                scrape(assembler.metricsPort(), m -> m.contains("realm_export_consumer_lag{group=\"mon-assembler\""));

                try (ShardWorker worker = new ShardWorker(config)) {
                    worker.start();
                    ExportStatus end = awaitStatus(stack, topics, exportId, s -> s.state().terminal());
                    assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                    String workerMetrics = scrape(worker.metricsPort(), m -> m.contains(
                            "realm_export_consumer_lag{group=\"mon-shard-workers\",topic=\"mon.shard-tasks\"} 0.0"));
                    // every planned task once, of every kind (config, message shards, file copy batches)
                    Matcher counted = Pattern.compile("realm_export_tasks_total\\{kind=\"(\\w+)\",outcome=\"ok\","
                            + "service=\"shard-workers\"} (\\d+)\\.0").matcher(workerMetrics);
                    Map<String, Integer> byKind = new HashMap<>();
                    while (counted.find()) {
                        byKind.put(counted.group(1), Integer.parseInt(counted.group(2)));
                    }
                    assertThat(byKind).containsEntry("REALM_CONFIG", 1).containsKey("MESSAGES");
                    assertThat(byKind.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(tasks);
                    assertThat(workerMetrics).contains("realm_export_task_seconds_bucket{kind=\"MESSAGES\"")
                            .contains("realm_export_rows_written_total{service=\"shard-workers\"}")
                            .contains("realm_export_written_bytes_total{service=\"shard-workers\"}");
                    scrape(assembler.metricsPort(),
                            m -> m.contains("realm_export_exports_total{service=\"assembler\",state=\"SUCCEEDED\"} 1.0"));

                    CliRun done = CliRun.run(env, "status", "--topic-prefix", "mon", "--stalled-after", "0");
                    assertThat(done.out()).contains("mon-shard-workers 0 (config-tasks 0, shard-tasks 0), 1 member")
                            .doesNotContain("STALLED").doesNotContain("STOPPED");
                    assertThat(done.out()).contains("mon-shard-workers member ");
                }
            }
        }
    }

    /** Scrapes until {@code ready} holds (the lag gauges refresh in the background); fails after WAIT. */
    private static String scrape(int port, Predicate<String> ready) throws Exception {
        assertThat(port).isPositive();
        long deadline = System.nanoTime() + WAIT.toNanos();
        String body;
        do {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            body = response.body();
            if (ready.test(body)) {
                return body;
            }
            Thread.sleep(250);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("metrics on port " + port + " never showed what was expected:\n" + body);
    }

    private static ExportStatus awaitStatus(EmbeddedStack stack, Topics topics, String exportId,
                                            Predicate<ExportStatus> wanted) {
        Properties reader = new Properties();
        reader.put("bootstrap.servers", stack.kafkaBootstrap());
        reader.put("isolation.level", "read_committed");
        try (StatusBoard board = new StatusBoard(reader, topics.status())) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                ExportStatus s = board.get(exportId);
                if (s != null && wanted.test(s)) {
                    return s;
                }
                board.poll(Duration.ofMillis(200));
            }
            throw new AssertionError("export " + exportId + " never reached the expected state: " + board.get(exportId));
        }
    }
}
