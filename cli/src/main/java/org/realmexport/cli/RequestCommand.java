package org.realmexport.cli;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.realmexport.common.ExportId;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.ExportType;
import org.realmexport.common.Json;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.event.ExportRequest;
import org.realmexport.common.event.ExportState;
import org.realmexport.common.event.ExportStatus;
import org.realmexport.common.event.Versioned;
import org.realmexport.common.topic.Topics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

@Command(name = "request", mixinStandardHelpOptions = true,
        header = "Asks for an export and prints its id.",
        description = "Posts an export request on the requests topic (creating the topics when missing) and "
                + "prints the export id on stdout. With --wait, follows the export to its end: exit 0 when it "
                + "succeeded, 1 when it failed.")
class RequestCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOptions config;

    @Option(names = "--realm", required = true, paramLabel = "ID|STRING_ID",
            description = "The realm: its numeric id or its string_id ('' is the root-domain realm).")
    String realm;

    @Option(names = "--type", required = true, paramLabel = "TYPE",
            description = "Export type: public, full-with-consent or full.")
    String type;

    @Option(names = "--output", paramLabel = "DIR|s3://BUCKET/PREFIX", defaultValue = "export-out",
            description = {"Where the workers and the assembler write the export: a directory they can all reach",
                    "(relative paths are made absolute here; default ${DEFAULT-VALUE}), or an S3 bucket and prefix",
                    "(the services' s3.* settings say how to reach it)."})
    String output;

    @Mixin
    WaitOptions waiting;

    /**
     * Posts one export request and returns its export id; the topics must exist. The one way
     * every command (request, demo) asks for an export.
     */
    static String post(RealmExportConfig cfg, String realm, ExportType type, URI location, String requestId) {
        String id = requestId != null ? requestId : ExportId.newRequestId();
        return post(cfg, new ExportRequest(Versioned.CURRENT, id, realm, type.cliName(), location, null,
                System.currentTimeMillis()));
    }

    /** Posts {@code request} (keyed by its request id) and returns its export id. */
    static String post(RealmExportConfig cfg, ExportRequest request) {
        String id = request.requestId();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(KafkaClients.producerProperties(cfg),
                new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(cfg.topics().requests(), id, Json.toBytes(request))).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw KafkaClients.unreachable(cfg, e);
        } catch (ExecutionException | TimeoutException | KafkaException e) {
            throw KafkaClients.unreachable(cfg, e);
        }
        return ExportId.forRequest(id);
    }

    @Override
    public Integer call() throws Exception {
        ExportType exportType;
        try {
            exportType = ExportType.parse(type);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String id = requestId(waiting.requestId);
        URI location = location(output);
        return send(spec, root, config, kafka, new ExportRequest(Versioned.CURRENT, id, realm, exportType.cliName(),
                location, null, System.currentTimeMillis()), String.format("a %s export of realm '%s'",
                exportType.cliName(), realm), waiting);
    }

    /** {@code --request-id}, or a new one. */
    static String requestId(String given) {
        String id = given != null ? given : ExportId.newRequestId();
        if (id.isBlank()) {
            throw new UsageException("--request-id must not be blank");
        }
        return id;
    }

    /** {@code --output} as a location the services share. */
    static URI location(String output) {
        try {
            return ExportStores.location(output);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--output: " + e.getMessage());
        }
    }

    /**
     * Posts {@code request} (creating the topics when missing), prints its export id on stdout and,
     * with {@code --wait}, follows it to its end: the one way request and export-user ask for an export.
     *
     * @param what the export for the operator ("a full export of realm 'zulip'")
     */
    static int send(CommandSpec spec, RealmExportCommand root, ConfigOptions config, KafkaOptions kafka,
                    ExportRequest request, String what, WaitOptions waiting) throws InterruptedException {
        boolean await = waiting.await;
        long timeout = waiting.timeout;
        if (timeout < 0) {
            throw new UsageException("--timeout must not be negative");
        }
        RealmExportConfig cfg = KafkaClients.config(Settings.resolve(root.environment(), config, kafka));
        Topics topics = cfg.topics();
        Admin admin = KafkaClients.admin(cfg);
        try {
            KafkaClients.ensureTopics(admin, cfg);
        } finally {
            admin.close(KafkaClients.CLOSE_TIMEOUT);
        }
        // read the status topic from before the request, so that --wait sees every update of it
        StatusBoard board = await ? new StatusBoard(KafkaClients.readerProperties(cfg), topics.status()) : null;
        try {
            String exportId = post(cfg, request);
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            out.println(exportId);
            out.flush();
            err.printf("requested %s into %s (request %s)%n", what, ExportStores.display(request.output()),
                    request.requestId());
            if (!await) {
                err.println("follow it with: realm-export status " + exportId + " --watch");
                return RealmExportCommand.OK;
            }
            ExportStatus last = StatusCommand.follow(board, exportId, err, timeout);
            if (last != null && last.state().terminal()) {
                err.println(StatusCommand.line(last));
            }
            return last != null && last.state() == ExportState.SUCCEEDED ? RealmExportCommand.OK : RealmExportCommand.FAILED;
        } finally {
            if (board != null) {
                board.close();
            }
        }
    }
}
