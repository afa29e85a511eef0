package org.realmexport.cli;

import org.realmexport.producer.ExportProducer;
import org.realmexport.producer.ExportProducerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "producer", mixinStandardHelpOptions = true,
        header = "Runs the export producer service.",
        description = "Consumes export requests, validates them and plans each export: one realm-config task "
                + "and one task per shard of 1000 messages. Runs until Ctrl-C or SIGTERM.")
class ProducerCommand extends ServiceCommand {
    @Option(names = "--output-dir", paramLabel = "DIR",
            description = "Where exports go when a request names no output (default: the producer's, export-out).")
    String outputDir;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, ExportProducerConfig.OUTPUT_DIR, outputDir);
    }

    @Override
    Running start(Map<String, Object> settings) {
        ExportProducer producer = new ExportProducer(settings).start();
        return new Running(producer, producer::isRunning);
    }
}
