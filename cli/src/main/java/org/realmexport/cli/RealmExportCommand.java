package org.realmexport.cli;

import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * The {@code realm-export} command. Exit codes: 0 success, 1 the export (or its verification)
 * failed, 2 usage error (bad options, bad input, unreachable service).
 */
@Command(name = "realm-export", mixinStandardHelpOptions = true,
        versionProvider = RealmExportCommand.Version.class,
        description = {"Exports a Zulip organization (realm) from PostgreSQL into Zulip's export format, spread "
                + "over Kafka: a producer plans the export, shard workers write the files, an assembler "
                + "finishes the tarball.", ""},
        commandListHeading = "%nCommands:%n",
        footer = {"", "Connection settings come from options or from the environment (KAFKA_BOOTSTRAP, JDBC_URL, "
                + "S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, UPLOADS_DIR, TOPIC_PREFIX); an option wins.",
                "Exit codes: 0 success, 1 export or verification failed, 2 usage error."},
        subcommands = {ProducerCommand.class, ShardWorkerCommand.class, AssemblerCommand.class,
                RequestCommand.class, StatusCommand.class, VerifyCommand.class, ExportUserCommand.class})
public class RealmExportCommand implements Callable<Integer> {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    /**
     * The commands of the full jar only (local-cli): they run the embedded stack, which the services'
     * jar and image leave out.
     */
    static final List<String> FULL_JAR_COMMANDS = List.of("stack", "demo", "generate");
    static final String FULL_JAR_HINT = "only in the full jar, with the embedded stack: ./realm-export in a "
            + "source checkout (it builds local-cli/target/realm-export.jar)";

    private static final Logger LOG = LoggerFactory.getLogger(RealmExportCommand.class);

    private final Map<String, String> environment;
    private final Supplier<StopSignal> stopSignals;

    @Spec
    CommandSpec spec;

    public RealmExportCommand() {
        this(System.getenv(), StopSignal::fromProcess);
    }

    RealmExportCommand(Map<String, String> environment, Supplier<StopSignal> stopSignals) {
        this.environment = Map.copyOf(environment);
        this.stopSignals = stopSignals;
    }

    public static void main(String[] args) {
        System.exit(commandLine(new RealmExportCommand()).execute(args));
    }

    /**
     * The configured picocli command line (exit codes, error handling) for a root command, with the
     * sub-commands the class path adds (the full jar's stack, demo and generate).
     */
    static CommandLine commandLine(RealmExportCommand root) {
        CommandLine commandLine = new CommandLine(root);
        for (SubcommandProvider provider : ServiceLoader.load(SubcommandProvider.class)) {
            provider.subcommands().forEach(commandLine::addSubcommand);
        }
        commandLine.addSubcommand(new CommandLine.HelpCommand());
        if (!commandLine.getSubcommands().keySet().containsAll(FULL_JAR_COMMANDS)) {
            commandLine.getCommandSpec().usageMessage().footer(append(commandLine.getCommandSpec().usageMessage().footer(),
                    String.join(", ", FULL_JAR_COMMANDS) + " are not in this jar (the services' jar): they are "
                            + FULL_JAR_HINT + "."));
            CommandLine.IParameterExceptionHandler standard = commandLine.getParameterExceptionHandler();
            commandLine.setParameterExceptionHandler((ex, args) -> notInThisJar(ex) ? USAGE : standard.handleParseException(ex, args));
        }
        commandLine.setExecutionExceptionHandler(RealmExportCommand::handle);
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        return commandLine;
    }

    private static String[] append(String[] lines, String line) {
        String[] out = Arrays.copyOf(lines, lines.length + 1);
        out[lines.length] = line;
        return out;
    }

    /** A full-jar command asked of the services' jar: says where it is (rather than "Unmatched argument"). */
    private static boolean notInThisJar(ParameterException ex) {
        if (ex instanceof UnmatchedArgumentException unmatched && ex.getCommandLine().getParent() == null
                && !unmatched.getUnmatched().isEmpty() && FULL_JAR_COMMANDS.contains(unmatched.getUnmatched().get(0))) {
            ex.getCommandLine().getErr().println(ex.getCommandLine().getCommandName() + ": '"
                    + unmatched.getUnmatched().get(0) + "' is not in this jar: it is " + FULL_JAR_HINT);
            return true;
        }
        return false;
    }

    Map<String, String> environment() {
        return environment;
    }

    StopSignal newStopSignal() {
        return stopSignals.get();
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing sub-command");
    }

    /** One line on stderr per failure; 2 for what the user can fix, 1 for the rest. */
    private static int handle(Exception ex, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        Throwable cause = unwrap(ex);
        String name = commandLine.getCommandSpec().qualifiedName();
        if (cause instanceof UsageException || cause instanceof ConfigException) {
            commandLine.getErr().println(name + ": " + cause.getMessage());
            return USAGE;
        }
        commandLine.getErr().println(name + ": failed: " + describe(cause));
        LOG.debug("{} failed", name, cause);
        return FAILED;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof CompletionException
                || t instanceof UncheckedIOException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The message, and the innermost cause's when it says something the message does not. */
    static String describe(Throwable t) {
        String message = message(t);
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String rootMessage = message(root);
        return root == t || message.contains(rootMessage) ? message : message + ": " + rootMessage;
    }

    private static String message(Throwable t) {
        String message = t.getMessage();
        return message == null || message.isBlank() ? t.getClass().getSimpleName() : message;
    }

    /** The version of the jar (from its manifest), or "development build" from the classes directory. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = RealmExportCommand.class.getPackage().getImplementationVersion();
            return new String[] {"realm-export " + (version == null ? "(development build)" : version)};
        }
    }
}
