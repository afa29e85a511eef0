package org.realmexport.cli;

import org.realmexport.localstack.EmbeddedStack;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "stack", mixinStandardHelpOptions = true,
        header = "Starts the embedded Kafka, PostgreSQL and S3 server and prints their endpoints.",
        description = "Starts the embedded stack alone (Kafka, PostgreSQL with an empty zulip schema, an S3 "
                + "server, an uploads directory) on loopback ports, prints its endpoints as VAR='value' lines "
                + "(the environment the other commands read) and runs until Ctrl-C or SIGTERM.")
class StackCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Option(names = "--env-file", paramLabel = "FILE",
            description = {"Also writes the endpoints to FILE (mode 600, removed on stop), for",
                    "`set -a; . FILE` in another shell."})
    Path envFile;

    @Override
    public Integer call() throws Exception {
        StopSignal stop = root.newStopSignal();
        try {
            spec.commandLine().getErr().println("stack: starting Kafka, PostgreSQL, the S3 server...");
            EmbeddedStack stack = EmbeddedStack.builder().start();
            spec.commandLine().getErr().printf("stack: started in %.1f s%n", stack.startupTime().toMillis() / 1000.0);
            return serve(stack.environment(), stack, stop);
        } finally {
            stop.closed();
        }
    }

    /** Prints the endpoints, writes the env file, waits for the stop signal, then closes the stack. */
    int serve(Map<String, String> environment, AutoCloseable stack, StopSignal stop) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (stack) {
            environment.forEach((name, value) -> out.println(name + "=" + shellQuote(value)));
            if (envFile != null) {
                writeEnvFile(envFile, environment);
            }
            out.println("# stack ready" + (envFile == null ? "" : "; in another shell: set -a; . " + envFile
                    + "; ./realm-export producer") + "; stop it with Ctrl-C or SIGTERM");
            out.flush();
            stop.await();
            spec.commandLine().getErr().println("stack: stopping...");
        } finally {
            if (envFile != null) {
                Files.deleteIfExists(envFile);
            }
        }
        spec.commandLine().getErr().println("stack: stopped");
        return RealmExportCommand.OK;
    }

    /** VAR='value' lines that POSIX shells read with {@code set -a; . FILE}; written atomically. */
    static void writeEnvFile(Path file, Map<String, String> environment) throws IOException {
        StringBuilder text = new StringBuilder("# written by realm-export stack; read with: set -a; . ")
                .append(file.getFileName()).append('\n');
        environment.forEach((name, value) -> text.append(name).append('=').append(shellQuote(value)).append('\n'));
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, ".env", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the file keeps the default permissions
            }
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Single quotes, so that '&', '?' and spaces in a JDBC URL survive the shell. */
    static String shellQuote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
