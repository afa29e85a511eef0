package org.realmexport.assembler;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.storage.s3.FaultyS3Proxy;
import org.realmexport.common.storage.s3.S3Settings;
import org.realmexport.common.topic.Topics;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole pipeline writing to the embedded S3 server, through a proxy that answers some S3
 * requests 500 and drops the connection of others: the export succeeds, its tarball (assembled
 * in the bucket) verifies and has the same manifest as the same export to disk, a missing bucket
 * fails the export with that reason, and the S3 secret key is in no log line and no export file.
 */
class S3ExportEndToEndTest {
    private static final Duration WAIT = Duration.ofMinutes(4);

    @Test
    void anExportToS3IsTheSameExportAsOnDiskDespiteFaults(@TempDir Path temp) throws Exception {
        LogCapture logs = LogCapture.capture();
        try (EmbeddedStack stack = EmbeddedStack.builder().start();
             FaultyS3Proxy proxy = new FaultyS3Proxy(stack.s3Endpoint(), 7)) {
            String secret = stack.s3SecretKey();
            GeneratedRealms realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(3000)
                    .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
            Map<String, Object> common = new HashMap<>();
            common.put("bootstrap.servers", stack.kafkaBootstrap());
            common.put("topic.prefix", "s3e2e");
            common.put("task.partitions", 3);
            common.put("avatar.salt", realms.avatarSalt()); // the workers copy the avatars
            common.put("jdbc.url", stack.jdbcUrl());
            common.put("uploads.dir", stack.uploadsDir().toString());
            common.put("s3.endpoint", proxy.endpoint());
            common.put("s3.access.key", stack.s3AccessKey());
            common.put("s3.secret.key", secret);
            common.put("s3.part.size", 5 * 1024 * 1024);
            Map<String, Object> assemblerConfig = new HashMap<>(common);
            assemblerConfig.put("state.dir", temp.resolve("state").toString());
            assemblerConfig.put("commit.interval.ms", 100);
            S3Client s3 = S3Settings.of(new RealmExportConfig(RealmExportConfig.baseConfigDef(),
                    Map.of("s3.endpoint", stack.s3Endpoint(), "s3.access.key", stack.s3AccessKey(),
                            "s3.secret.key", secret))).client();
            s3.createBucket(b -> b.bucket("exports"));
            Topics topics = new Topics("s3e2e");
            Path output = Files.createDirectories(temp.resolve("out"));
            try (s3;
                 ExportAssembler assembler = new ExportAssembler(assemblerConfig);
                 ExportProducer producer = new ExportProducer(common);
                 ShardWorker worker1 = new ShardWorker(withId(common, "w1"));
                 ShardWorker worker2 = new ShardWorker(withId(common, "w2"))) {
                assembler.start();
                producer.start();
                worker1.start();
                worker2.start();
                try (StatusWatcher statuses = new StatusWatcher(stack.kafkaBootstrap(), topics.status());
                     KafkaProducer<String, byte[]> client = client(stack)) {
                    String realm = Long.toString(realms.primary().realmId());
                    ExportStatus onDisk = export(client, statuses, topics, realm, output.toUri());
                    assertThat(onDisk.state()).as("error: %s", onDisk.error()).isEqualTo(ExportState.SUCCEEDED);
                    ExportStatus onS3 = export(client, statuses, topics, realm, URI.create("s3://exports/team/a"));
                    assertThat(onS3.state()).as("error: %s", onS3.error()).isEqualTo(ExportState.SUCCEEDED);

                    // the status names the object; the tarball is in the bucket, and nothing is on local disk
                    String dirName = ExportId.directoryName(onS3.exportId());
                    assertThat(onS3.output()).isEqualTo(URI.create("s3://exports/team/a/" + dirName));
                    assertThat(onS3.tarball()).isEqualTo("s3://exports/team/a/" + dirName + ".tar.gz");
                    Path downloaded = temp.resolve(dirName + ".tar.gz");
                    s3.getObject(b -> b.bucket("exports").key("team/a/" + dirName + ".tar.gz"), downloaded);
                    assertThat(Files.size(downloaded)).isEqualTo(onS3.size());
                    assertThat(ExportStores.display(URI.create(onS3.tarball()))).isEqualTo(onS3.tarball());
                    ExportVerifier.Report report = new ExportVerifier(temp.resolve("verify")).verify(downloaded);
                    assertThat(report.problems()).as(report.summary()).isEmpty();

                    // same message files, realm.json, attachment.json, records, stats as the export to disk
                    JsonNode diskManifest = Json.MAPPER.readTree(output.resolve(
                            ExportId.directoryName(onDisk.exportId())).resolve("manifest.json").toFile()).get("files");
                    JsonNode s3Manifest = Json.MAPPER.readTree(entry(downloaded, dirName + "/manifest.json")).get("files");
                    assertThat(s3Manifest).isEqualTo(diskManifest);
                    assertThat(s3Manifest.has("realm.json")).isTrue();
                    assertThat(s3Manifest.has("attachment.json")).isTrue();
                    assertThat(s3Manifest.has("uploads/records.json")).isTrue();
                    assertThat(s3Manifest.has("messages-000001.json")).isTrue();
                    assertThat(onS3.rows()).isEqualTo(onDisk.rows());
                    assertThat(proxy.failed()).as("requests answered 500").isPositive();
                    assertThat(proxy.dropped()).as("connections dropped").isPositive();

                    // a bucket that does not exist: FAILED, saying so
                    ExportStatus missing = export(client, statuses, topics, realm, URI.create("s3://no-such-bucket/x"));
                    assertThat(missing.state()).isEqualTo(ExportState.FAILED);
                    assertThat(missing.error()).contains("bucket 'no-such-bucket' does not exist");

                    // the secret is nowhere: not in the tarball, not in the statuses, not in a log line
                    assertThat(gunzip(downloaded)).doesNotContain(secret);
                    assertThat(statuses.history(onS3.exportId()).toString()).doesNotContain(secret);
                    assertThat(logs.lines()).isNotEmpty().noneMatch(line -> line.contains(secret));
                }
            }
        } finally {
            logs.stop();
        }
    }

    private static ExportStatus export(KafkaProducer<String, byte[]> client, StatusWatcher statuses, Topics topics,
                                       String realm, URI output) throws Exception {
        String requestId = ExportId.newRequestId();
        ExportRequest request = new ExportRequest(Versioned.CURRENT, requestId, realm, "full", output, null,
                System.currentTimeMillis());
        client.send(new ProducerRecord<>(topics.requests(), requestId, Json.toBytes(request))).get();
        return statuses.awaitEnd(ExportId.forRequest(requestId), WAIT);
    }

    /** One entry of a tarball. */
    private static byte[] entry(Path tarball, String name) throws IOException {
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarball), true);
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                if (e.getName().equals(name)) {
                    return tar.readAllBytes();
                }
            }
        }
        throw new AssertionError(name + " is not in " + tarball);
    }

    private static String gunzip(Path tarball) throws IOException {
        try (InputStream in = new GzipCompressorInputStream(Files.newInputStream(tarball), true)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static Map<String, Object> withId(Map<String, Object> config, String workerId) {
        Map<String, Object> c = new HashMap<>(config);
        c.put("worker.id", workerId);
        return c;
    }

    private static KafkaProducer<String, byte[]> client(EmbeddedStack stack) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * Every log line of the run, at DEBUG for the project and the AWS SDK (where a leaked secret
     * would show), whatever the test log configuration says.
     */
    private static final class LogCapture extends AppenderBase<ILoggingEvent> {
        private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
        private final Map<Logger, Level> levels = new HashMap<>();

        static LogCapture capture() {
            LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
            LogCapture capture = new LogCapture();
            capture.setContext(context);
            capture.start();
            for (String name : List.of("org.realmexport", "software.amazon.awssdk")) {
                Logger logger = context.getLogger(name);
                capture.levels.put(logger, logger.getLevel());
                logger.setLevel(Level.DEBUG);
                logger.setAdditive(false); // captured, not printed: DEBUG of the SDK is long
                logger.addAppender(capture);
            }
            return capture;
        }

        @Override
        protected void append(ILoggingEvent event) {
            StringBuilder line = new StringBuilder(event.getFormattedMessage());
            for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
                line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
            }
            lines.add(line.toString());
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        @Override
        public void stop() {
            levels.forEach((logger, level) -> {
                logger.detachAppender(this);
                logger.setLevel(level);
                logger.setAdditive(true);
            });
            super.stop();
        }
    }
}
