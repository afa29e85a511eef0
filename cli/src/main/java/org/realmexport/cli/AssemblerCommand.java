package org.realmexport.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "assembler", mixinStandardHelpOptions = true,
        header = "Runs the assembler service (Kafka Streams).",
        description = "Gathers the task results of each export and, when all have arrived, finishes it: "
                + "attachments, uploads, stats, manifest, tarball and the final status. "
                + "Runs until Ctrl-C or SIGTERM.")
class AssemblerCommand extends ServiceCommand {
    // TODO(lead): use the assembler's own constant once it is in main
    static final String STATE_DIR = "state.dir";

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Kafka Streams state directory (default: the assembler's).")
    String stateDir;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, STATE_DIR, stateDir);
    }

    @Override
    Running start(Map<String, Object> settings) {
        // TODO(lead): wire once org.realmexport.assembler.ExportAssembler is in main:
        //   ExportAssembler assembler = new ExportAssembler(settings);
        //   assembler.start();
        //   return new Running(assembler, assembler::isRunning);   // or () -> true without isRunning()
        throw UsageException.notBuiltYet("assembler", "org.realmexport.assembler.ExportAssembler");
    }
}
