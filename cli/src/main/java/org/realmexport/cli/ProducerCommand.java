package org.realmexport.cli;

import io.micrometer.core.instrument.MeterRegistry;
import org.realmexport.producer.ExportProducer;
import org.realmexport.producer.ExportProducerConfig;
import org.realmexport.producer.RealmExportWatcher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "producer", mixinStandardHelpOptions = true,
        header = "Runs the export producer service.",
        description = "Consumes export requests, validates them and plans each export: one realm-config task "
                + "and one task per shard of 1000 messages. With --watch-realmexport it also exports every "
                + "zerver_realmexport row that Zulip's web UI inserts (status 1) and writes the outcome back "
                + "to the row. Runs until Ctrl-C or SIGTERM.")
class ProducerCommand extends ServiceCommand {
    @Option(names = "--output-dir", paramLabel = "DIR",
            description = "Where exports go when a request names no output (default: the producer's, export-out).")
    String outputDir;

    @Option(names = "--watch-realmexport",
            description = "Watch Zulip's zerver_realmexport table (Debezium; needs wal_level=logical and a role with "
                    + "REPLICATION) and export each new row with status 1, writing status 2/3/4 back to it.")
    boolean watchRealmExport;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, ExportProducerConfig.OUTPUT_DIR, outputDir);
        if (watchRealmExport) {
            settings.put(ExportProducerConfig.WATCH_REALMEXPORT, "true");
        }
    }

    @Override
    Running start(Map<String, Object> settings, MeterRegistry registry) {
        ExportProducer producer = new ExportProducer(settings, registry).start();
        if (!new ExportProducerConfig(settings).getBoolean(ExportProducerConfig.WATCH_REALMEXPORT)) {
            return new Running(producer, producer::isRunning);
        }
        RealmExportWatcher watcher;
        try {
            watcher = new RealmExportWatcher(settings, registry).start();
        } catch (RuntimeException e) {
            producer.close();
            throw e;
        }
        return new Running(() -> {
            try (producer) {
                watcher.close();
            }
        }, () -> producer.isRunning() && watcher.isRunning());
    }
}
