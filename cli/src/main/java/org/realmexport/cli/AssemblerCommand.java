package org.realmexport.cli;

import org.apache.kafka.streams.KafkaStreams;
import org.realmexport.assembler.ExportAssembler;
import org.realmexport.assembler.ExportAssemblerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "assembler", mixinStandardHelpOptions = true,
        header = "Runs the assembler service (Kafka Streams).",
        description = "Gathers the task results of each export and, when all have arrived, finishes it: "
                + "attachments, uploads, stats, manifest, tarball and the final status. "
                + "Runs until Ctrl-C or SIGTERM.")
class AssemblerCommand extends ServiceCommand {
    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Kafka Streams state directory; losing it is safe, only slower to start (default: the assembler's).")
    String stateDir;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, ExportAssemblerConfig.STATE_DIR, stateDir);
    }

    @Override
    Running start(Map<String, Object> settings, MeterRegistry registry) {
        ExportAssembler assembler = new ExportAssembler(settings, registry);
        assembler.start();
        return new Running(assembler, () -> {
            KafkaStreams.State state = assembler.state();
            return state == null || !(state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR
                    || state == KafkaStreams.State.NOT_RUNNING);
        });
    }
}
