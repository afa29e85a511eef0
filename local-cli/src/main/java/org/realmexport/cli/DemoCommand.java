package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.admin.Admin;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.assembler.ExportAssemblerConfig;
import org.realmexport.common.ExportType;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.topic.ConsumerLag;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealm;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorException;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;
import org.realmexport.worker.ShardWorkerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

@Command(name = "demo", mixinStandardHelpOptions = true,
        header = "Runs the whole pipeline in one JVM on an embedded stack and verifies the export.",
        description = "Starts the embedded stack, generates a deterministic realm, runs the producer, N shard "
                + "workers and the assembler, exports the realm, verifies the tarball and prints a summary "
                + "and the tarball's path.")
class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--messages", paramLabel = "N", defaultValue = "20000",
            description = "Messages of the exported realm (default ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--users", paramLabel = "N", description = "Users to generate (default: the generator's).")
    Integer users;

    @Option(names = "--streams", paramLabel = "N", description = "Streams to generate (default: the generator's).")
    Integer streams;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "2",
            description = "Shard workers to run (default ${DEFAULT-VALUE}, one per core of this machine's 2).")
    int workers;

    @Option(names = "--seed", paramLabel = "K", defaultValue = "1", description = "Generator seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "full",
            description = "Export type: public, full-with-consent or full (default ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--storage", paramLabel = "local|s3", defaultValue = "local",
            description = "Where the generated uploads live and the export goes (default ${DEFAULT-VALUE}): local"
                    + " disk, or the embedded S3 server (uploads in Zulip's two buckets, the export in a bucket,"
                    + " and a downloaded copy of the tarball in --output).")
    String storage;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "demo-output",
            description = "Directory for the export and its tarball (default ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "1800",
            description = "Give up (exit 1) when the export has not ended after this many seconds (default ${DEFAULT-VALUE}).")
    long timeout;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ExportType exportType = parseType();
        if (messages < 1 || workers < 1 || timeout < 1) {
            throw new UsageException("--messages, --workers and --timeout must be at least 1");
        }
        if (!"local".equals(storage) && !"s3".equals(storage)) {
            throw new UsageException("--storage is local or s3, not '" + storage + "'");
        }
        boolean s3 = "s3".equals(storage);
        Path outputDir = output.toAbsolutePath().normalize();
        Files.createDirectories(outputDir);

        long started = System.nanoTime();
        err.println("starting the embedded stack (Kafka, PostgreSQL, S3)...");
        err.flush();
        try (EmbeddedStack stack = EmbeddedStack.builder().start()) {
            GeneratedRealms realms = generate(stack, err);
            GeneratedRealm realm = realms.primary();

            Map<String, Object> cfg = new HashMap<>();
            cfg.put(RealmExportConfig.BOOTSTRAP_SERVERS, stack.kafkaBootstrap());
            cfg.put(RealmExportConfig.JDBC_URL, stack.jdbcUrl());
            URI exportTo = outputDir.toUri();
            if (s3) {
                exportTo = DemoS3.prepare(stack, realms, cfg, err);
            } else {
                cfg.put(RealmExportConfig.UPLOADS_DIR, stack.uploadsDir().toString());
            }
            // one partition per worker thread is all the demo can use; more only adds idle fetchers
            cfg.put(RealmExportConfig.TASK_PARTITIONS, Math.max(workers, 2));
            Map<String, Object> assemblerCfg = new HashMap<>(cfg);
            assemblerCfg.put(ExportAssemblerConfig.STATE_DIR, Files.createTempDirectory("realm-export-demo-streams").toString());

            List<AutoCloseable> services = new ArrayList<>();
            try {
                services.add(new ExportAssembler(assemblerCfg));
                ((ExportAssembler) services.get(0)).start();
                services.add(new ExportProducer(cfg).start());
                for (int i = 1; i <= workers; i++) {
                    Map<String, Object> workerCfg = new HashMap<>(cfg);
                    workerCfg.put(ShardWorkerConfig.WORKER_ID, "demo-worker-" + i);
                    // the generator names avatar files as Zulip does, from a salt the workers must share
                    workerCfg.put(ShardWorkerConfig.AVATAR_SALT, realms.avatarSalt());
                    services.add(new ShardWorker(workerCfg).start());
                }
                RealmExportConfig config = KafkaClients.config(cfg);
                try (Admin admin = KafkaClients.admin(config)) {
                    KafkaClients.ensureTopics(admin, config);
                    awaitWorkers(admin, config, workers, err);
                }
                long exportStarted = System.nanoTime();
                ExportStatus last;
                String exportId;
                try (StatusBoard board = new StatusBoard(KafkaClients.readerProperties(config), config.topics().status())) {
                    exportId = RequestCommand.post(config, realm.stringId(), exportType, exportTo, null);
                    err.printf("requested a %s export of realm '%s' (id %d): export %s%n", exportType.cliName(),
                            realm.stringId(), realm.realmId(), exportId);
                    last = StatusCommand.follow(board, exportId, err, timeout);
                }
                double exportSeconds = (System.nanoTime() - exportStarted) / 1e9;
                if (last == null || last.state() != ExportState.SUCCEEDED) {
                    err.println("demo export " + exportId + " did not succeed: "
                            + (last == null ? "no status arrived" : last.state() + (last.error() == null ? "" : ": " + last.error())));
                    return RealmExportCommand.FAILED;
                }
                Path tarball = s3 ? DemoS3.download(stack, last.tarball(), outputDir, err) : Path.of(last.tarball());
                ExportVerifier.Report report = new ExportVerifier().verify(tarball);
                if (!report.ok()) {
                    report.problems().forEach(p -> err.println("verify: " + p));
                    err.println("demo export " + exportId + " failed verification (" + report.problems().size() + " problems)");
                    return RealmExportCommand.FAILED;
                }
                printSummary(out, last, realm, exportSeconds, (System.nanoTime() - started) / 1e9, tarball);
                out.println(tarball);
                return RealmExportCommand.OK;
            } finally {
                closeAll(services, err);
            }
        }
    }

    private ExportType parseType() {
        try {
            return ExportType.parse(type);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private GeneratedRealms generate(EmbeddedStack stack, PrintWriter err) {
        GeneratorOptions options = GeneratorOptions.defaults().withMessages(messages).withSeed(seed)
                .withUploadsDir(stack.uploadsDir());
        if (users != null) {
            options = options.withUsers(users);
        }
        if (streams != null) {
            options = options.withStreams(streams);
        }
        long t = System.nanoTime();
        err.printf("generating two realms (%,d + ~%,d messages, seed %d)...%n", messages, options.secondaryMessages(), seed);
        err.flush();
        try {
            GeneratedRealms realms = new RealmGenerator(options).generate(stack.jdbcUrl());
            err.printf("generated %,d rows in %.1f s%n", realms.totalRows(), (System.nanoTime() - t) / 1e9);
            return realms;
        } catch (GeneratorException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static void printSummary(PrintWriter out, ExportStatus status, GeneratedRealm realm, double exportSeconds,
                                     double totalSeconds, Path tarball) throws java.io.IOException {
        out.printf(Locale.ROOT, "export %s of realm '%s' (id %d): %s%n", status.exportId(), realm.stringId(),
                realm.realmId(), status.state());
        Map<String, Long> rows = status.rows() == null ? Map.of() : new TreeMap<>(status.rows());
        rows.forEach((table, count) -> out.printf(Locale.ROOT, "  %-40s %,12d%n", table, count));
        out.printf(Locale.ROOT, "tasks:       %d%n", status.tasksDone());
        // the manifest lists every file of the export but itself
        long files = 0;
        long bytes = 0;
        for (JsonNode file : DemoS3.manifest(tarball).get("files")) {
            files++;
            bytes += file.get("size").asLong();
        }
        out.printf(Locale.ROOT, "files:       %,d (%,d bytes) in %s%n", files + 1, bytes, tarball);
        out.printf(Locale.ROOT, "tarball:     %s (%,d bytes, sha256 %s)%n", status.tarball(),
                status.size() == null ? 0 : status.size(), status.sha256());
        out.printf(Locale.ROOT, "export time: %.2f s (%,.0f messages/s); demo total %.1f s%n", exportSeconds,
                (status.messagesWritten() != null ? status.messagesWritten() : status.messages())
                        / Math.max(exportSeconds, 1e-3), totalSeconds);
        out.flush();
    }

    private static void closeAll(List<AutoCloseable> services, PrintWriter err) {
        for (int i = services.size() - 1; i >= 0; i--) {
            try {
                services.get(i).close();
            } catch (Exception e) {
                err.println("warning: stopping " + services.get(i).getClass().getSimpleName() + " failed: " + e);
            }
        }
    }

    /**
     * Waits (a few seconds at most) until every worker holds task partitions: a worker that joins
     * the group while the first one already works only gets its share at the next rebalance, and a
     * demo's export is short enough to be over by then.
     */
    private static void awaitWorkers(Admin admin, RealmExportConfig config, int workers, PrintWriter err)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String group = config.topics().group(ConsumerLag.SHARD_WORKERS);
        List<String> topics = ConsumerLag.inputTopics(config.topics(), ConsumerLag.SHARD_WORKERS);
        while (System.nanoTime() < deadline) {
            List<ConsumerLag.Member> members = ConsumerLag.of(admin, KafkaClients.readerProperties(config), group, topics)
                    .members();
            if (members.size() >= workers && members.stream().allMatch(m -> m.partitions() > 0)) {
                return;
            }
            Thread.sleep(200);
        }
        err.println("not every worker has its task partitions yet; the export starts anyway");
    }
}
