package org.realmexport.cli;

import picocli.CommandLine.Command;

import java.util.Map;

@Command(name = "producer", mixinStandardHelpOptions = true,
        header = "Runs the export producer service.",
        description = "Consumes export requests, validates them and plans each export: one realm-config task "
                + "and one task per shard of 1000 messages. Runs until Ctrl-C or SIGTERM.")
class ProducerCommand extends ServiceCommand {
    @Override
    AutoCloseable start(Map<String, Object> settings) {
        // TODO(lead): wire once org.realmexport.producer.ExportProducer is in main:
        //   ExportProducer producer = new ExportProducer(settings);
        //   producer.start();
        //   return producer;
        throw UsageException.notBuiltYet("producer", "org.realmexport.producer.ExportProducer");
    }
}
