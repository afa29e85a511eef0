package org.realmexport.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import java.util.function.Supplier;

/** Runs the command in-process with a given environment and captures stdout and stderr. */
record CliRun(int exitCode, String out, String err) {

    static CliRun run(Map<String, String> env, String... args) {
        return run(env, StopSignal::manual, args);
    }

    static CliRun run(Map<String, String> env, Supplier<StopSignal> stops, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = RealmExportCommand.commandLine(new RealmExportCommand(env, stops));
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int code = commandLine.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }

    static CliRun run(String... args) {
        return run(Map.of(), args);
    }

    /** Parses (does not run) the arguments and returns the sub-command object they select. */
    @SuppressWarnings("unchecked")
    static <T> T parse(Map<String, String> env, String... args) {
        CommandLine commandLine = RealmExportCommand.commandLine(new RealmExportCommand(env, StopSignal::manual));
        CommandLine.ParseResult result = commandLine.parseArgs(args);
        return (T) result.subcommand().commandSpec().userObject();
    }
}
