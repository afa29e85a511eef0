package org.realmexport.cli;

import org.realmexport.assembler.ExportAssembler;
import org.realmexport.common.ExportId;
import org.realmexport.common.ExportType;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;
import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.producer.ExportProducer;
import org.realmexport.worker.ShardWorker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Producer, two shard workers and the assembler on an embedded stack (local uploads), for tests
 * that run exports through the whole pipeline and read their statuses.
 */
final class PipelineDeployment implements AutoCloseable {
    private static final Duration WAIT = Duration.ofMinutes(4);

    final Topics topics;
    final Path output;
    private final EmbeddedStack stack;
    private final List<ShardWorker> workers = new ArrayList<>();
    private final ExportAssembler assembler;
    private final ExportProducer producer;
    private StatusBoard board;

    /** @param avatarSalt the generated realm's avatar salt, so the workers find the avatar files */
    PipelineDeployment(EmbeddedStack stack, Path work, String prefix, String avatarSalt) throws Exception {
        this.stack = stack;
        this.topics = new Topics(prefix);
        output = Files.createDirectories(work.resolve("out"));
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", stack.kafkaBootstrap());
        cfg.put("topic.prefix", topics.prefix());
        cfg.put("task.partitions", 4);
        cfg.put("jdbc.url", stack.jdbcUrl());
        cfg.put("uploads.dir", stack.uploadsDir().toString());
        cfg.put("avatar.salt", avatarSalt); // the workers copy the avatars
        Map<String, Object> assemblerCfg = new HashMap<>(cfg);
        assemblerCfg.put("state.dir", work.resolve("state").toString());
        assemblerCfg.put("commit.interval.ms", 100);
        assembler = new ExportAssembler(assemblerCfg);
        assembler.start();
        producer = new ExportProducer(cfg).start();
        for (int i = 1; i <= 2; i++) {
            Map<String, Object> workerCfg = new HashMap<>(cfg);
            workerCfg.put("worker.id", prefix + "-w" + i);
            workers.add(new ShardWorker(workerCfg).start());
        }
    }

    /** Requests an export of {@code realm} and waits for its end. */
    ExportStatus export(String realm, ExportType type) {
        return await(post(new ExportRequest(Versioned.CURRENT, ExportId.newRequestId(), realm, type.cliName(),
                output.toUri(), null, System.currentTimeMillis())));
    }

    /** Requests the single-user export of {@code user} of {@code realm} and waits for its end. */
    ExportStatus exportUser(String realm, String user) {
        return await(post(ExportRequest.forUser(ExportId.newRequestId(), realm, user, output.toUri(),
                System.currentTimeMillis())));
    }

    private String post(ExportRequest request) {
        return RequestCommand.post(KafkaClients.config(Map.of("bootstrap.servers", stack.kafkaBootstrap(),
                "topic.prefix", topics.prefix())), request);
    }

    /** The export's last status once it is terminal. */
    ExportStatus await(String exportId) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            board().poll(Duration.ofMillis(200));
            ExportStatus status = board().get(exportId);
            if (status != null && status.state().terminal()) {
                return status;
            }
        }
        throw new AssertionError("export " + exportId + " did not end within " + WAIT);
    }

    Path exportDir(ExportStatus status) {
        return output.resolve(ExportId.directoryName(status.exportId()));
    }

    private StatusBoard board() {
        if (board == null) {
            Properties props = new Properties();
            props.put("bootstrap.servers", stack.kafkaBootstrap());
            props.put("isolation.level", "read_committed");
            props.put("enable.auto.commit", "false");
            board = new StatusBoard(props, topics.status());
        }
        return board;
    }

    @Override
    public void close() {
        if (board != null) {
            board.close();
        }
        for (ShardWorker worker : workers) {
            worker.close();
        }
        producer.close();
        assembler.close();
    }
}
