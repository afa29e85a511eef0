package org.realmexport.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export-user", mixinStandardHelpOptions = true,
        header = "Exports one user's data (Zulip's single-user export).")
class ExportUserCommand implements Callable<Integer> {
    @Option(names = "--user", required = true, paramLabel = "ID|EMAIL", description = "The user to export.")
    String user;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "export-out",
            description = "Directory for the export (default ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() {
        // TODO: wire once the single-user exporter exists (the export-user request kind).
        throw UsageException.notBuiltYet("export-user", "a single-user exporter");
    }
}
