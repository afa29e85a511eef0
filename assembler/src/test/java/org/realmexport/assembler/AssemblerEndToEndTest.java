package org.realmexport.assembler;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.ExportId;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;
import org.realmexport.common.verify.ExportVerifier;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real producer and two real shard workers in front of the assembler, on the embedded stack:
 * a full export of the generated realm reaches SUCCEEDED, and the tarball passes the project's
 * export verifier.
 */
class AssemblerEndToEndTest {
    private static final Duration WAIT = Duration.ofMinutes(3);

    @Test
    void aFullExportOfTheGeneratedRealmSucceedsAndVerifies(@TempDir Path temp) throws Exception {
        try (EmbeddedStack stack = EmbeddedStack.builder().s3(false).start()) {
            // -Dassembler.e2e.messages=N for a bigger realm (measurements); the default keeps the build quick
            int messages = Integer.getInteger("assembler.e2e.messages", 3000);
            GeneratedRealms realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(messages)
                    .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
            Map<String, Object> common = new HashMap<>();
            common.put("bootstrap.servers", stack.kafkaBootstrap());
            common.put("topic.prefix", "e2e");
            common.put("task.partitions", 3);
            common.put("jdbc.url", stack.jdbcUrl());
            common.put("uploads.dir", stack.uploadsDir().toString());
            common.put("avatar.salt", realms.avatarSalt()); // the workers copy the avatars
            Map<String, Object> assemblerConfig = new HashMap<>(common);
            assemblerConfig.put("state.dir", temp.resolve("state").toString());
            assemblerConfig.put("commit.interval.ms", 100);
            assemblerConfig.put("statestore.cache.max.bytes", 0);
            Topics topics = new Topics("e2e");
            String requestId = ExportId.newRequestId();
            String exportId = ExportId.forRequest(requestId);
            Path output = temp.resolve("out");
            Files.createDirectories(output);
            try (ExportAssembler assembler = new ExportAssembler(assemblerConfig);
                 ExportProducer producer = new ExportProducer(common);
                 ShardWorker worker1 = new ShardWorker(withId(common, "w1"));
                 ShardWorker worker2 = new ShardWorker(withId(common, "w2"))) {
                assembler.start();
                producer.start();
                worker1.start();
                worker2.start();
                try (StatusWatcher statuses = new StatusWatcher(stack.kafkaBootstrap(), topics.status());
                     KafkaProducer<String, byte[]> client = client(stack)) {
                    ExportRequest request = new ExportRequest(Versioned.CURRENT, requestId,
                            Integer.toString(realms.primary().realmId()), "full", output.toUri(), null,
                            System.currentTimeMillis());
                    client.send(new ProducerRecord<>(topics.requests(), requestId, Json.toBytes(request))).get();
                    ExportStatus end = statuses.awaitEnd(exportId, WAIT);
                    assertThat(end.state()).as("error: %s", end.error()).isEqualTo(ExportState.SUCCEEDED);
                    assertThat(end.tasksDone()).isEqualTo(end.tasksPlanned());

                    Path tarball = Path.of(end.tarball());
                    assertThat(tarball).isEqualTo(output.resolve(ExportId.directoryName(exportId) + ".tar.gz"));
                    ExportVerifier.Report report = new ExportVerifier(temp.resolve("verify")).verify(tarball);
                    assertThat(report.problems()).as(report.summary()).isEmpty();
                    ExportVerifier.Report dirReport = new ExportVerifier().verify(
                            output.resolve(ExportId.directoryName(exportId)));
                    assertThat(dirReport.problems()).as(dirReport.summary()).isEmpty();

                    // the realm's attachments used by its messages, and nothing else
                    Path dir = output.resolve(ExportId.directoryName(exportId));
                    List<Long> exported = new ArrayList<>();
                    for (JsonNode row : Json.MAPPER.readTree(dir.resolve("attachment.json").toFile())
                            .get("zerver_attachment")) {
                        exported.add(row.get("id").asLong());
                    }
                    assertThat(exported).isEqualTo(attachmentsUsedByTheRealm(stack, realms.primary().realmId()));
                    JsonNode realm = Json.MAPPER.readTree(dir.resolve("realm.json").toFile());
                    assertThat(realm.get("zerver_reaction").size()).isPositive();
                    assertThat(realm.get("zerver_client").size()).isPositive();
                }
            }
        }
    }

    private static List<Long> attachmentsUsedByTheRealm(EmbeddedStack stack, long realmId) throws Exception {
        Map<Long, Boolean> ids = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl());
             PreparedStatement ps = c.prepareStatement("SELECT DISTINCT a.id FROM zerver_attachment a"
                     + " LEFT JOIN zerver_attachment_messages l ON l.attachment_id = a.id"
                     + " LEFT JOIN zerver_message m ON m.id = l.message_id"
                     + " LEFT JOIN zerver_attachment_scheduled_messages sl ON sl.attachment_id = a.id"
                     + " WHERE a.realm_id = ? AND (m.realm_id = ? OR sl.id IS NOT NULL)")) {
            ps.setLong(1, realmId);
            ps.setLong(2, realmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.put(rs.getLong(1), true);
                }
            }
        }
        return new ArrayList<>(ids.keySet());
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
}
