package org.realmexport.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "demo", mixinStandardHelpOptions = true,
        header = "Runs the whole pipeline in one JVM on an embedded stack and verifies the export.",
        description = "Starts the embedded stack, generates a deterministic realm, runs the producer, N shard "
                + "workers and the assembler, exports the realm, verifies the tarball and prints a summary "
                + "and the tarball's path.")
class DemoCommand implements Callable<Integer> {
    @Option(names = "--messages", paramLabel = "N", defaultValue = "10000", description = "Messages to generate (default ${DEFAULT-VALUE}).")
    long messages;

    @Option(names = "--users", paramLabel = "N", description = "Users to generate (default: the generator's).")
    Integer users;

    @Option(names = "--streams", paramLabel = "N", description = "Streams to generate (default: the generator's).")
    Integer streams;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "3", description = "Shard workers to run (default ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "full",
            description = "Export type: public, full-with-consent or full (default ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--storage", paramLabel = "local|s3", defaultValue = "local",
            description = "Where the generated uploads live (default ${DEFAULT-VALUE}).")
    String storage;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "demo-output",
            description = "Directory for the export and its tarball (default ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() {
        // TODO(lead): wire the demo once the services are in main: EmbeddedStack, RealmGenerator,
        // ExportProducer + N ShardWorkers + ExportAssembler in this JVM, `request` the export,
        // follow it like `status --watch` (StatusCommand.follow), then ExportVerifier on the tarball.
        throw UsageException.notBuiltYet("demo", "the producer, shard worker and assembler services");
    }
}
