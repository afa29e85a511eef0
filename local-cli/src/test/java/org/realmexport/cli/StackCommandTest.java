package org.realmexport.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;

import static org.assertj.core.api.Assertions.assertThat;

/** The part of {@code stack} that does not depend on the embedded stack itself. */
class StackCommandTest {
    @TempDir
    Path tmp;

    /** Values with what a shell would otherwise mangle: '&', '?', a quote, spaces. */
    static Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP", "127.0.0.1:39092");
        env.put("JDBC_URL", "jdbc:postgresql://127.0.0.1:35432/zulip?user=zulip&currentSchema=zulip");
        env.put("S3_ENDPOINT", "http://127.0.0.1:38080");
        env.put("S3_ACCESS_KEY", "access");
        env.put("S3_SECRET_KEY", "it's a $ecret `x`");
        env.put("UPLOADS_DIR", "/tmp/realm export/uploads");
        return env;
    }

    @Test
    void stackPrintsItsEnvironmentWritesAnEnvFileAShellReadsAndStopsCleanly() throws Exception {
        Path envFile = tmp.resolve("stack.env");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = RealmExportCommand.commandLine(new RealmExportCommand(Map.of(), StopSignal::manual));
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        StackCommand stack = (StackCommand) commandLine.parseArgs("stack", "--env-file", envFile.toString())
                .subcommand().commandSpec().userObject();
        StopSignal stop = StopSignal.manual();
        AtomicBoolean closed = new AtomicBoolean();

        CompletableFuture<Integer> running = CompletableFuture.supplyAsync(() -> {
            try {
                return stack.serve(environment(), () -> closed.set(true), stop);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!out.toString().contains("# stack ready") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(out.toString()).contains("# stack ready").contains("Ctrl-C");
        assertThat(running).isNotDone();

        assertThat(readWithShell(envFile)).isEqualTo(List.copyOf(environment().values()));
        Path printed = Files.writeString(tmp.resolve("stdout.env"), out.toString());
        assertThat(readWithShell(printed)).as("stdout is itself a valid env file")
                .isEqualTo(List.copyOf(environment().values()));
        assertThat(Files.getPosixFilePermissions(envFile)).hasSize(2); // rw------- : it holds the S3 secret

        stop.request();
        assertThat(running.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(closed).isTrue();
        assertThat(envFile).doesNotExist();
    }

    @Test
    void stackStartsARealStackWhoseEndpointsWorkAndStopsItOnTheSignal() throws Exception {
        Path envFile = tmp.resolve(".env");
        StopSignal stop = StopSignal.manual();
        CompletableFuture<CliRun> running = CompletableFuture.supplyAsync(
                () -> CliRun.run(Map.of(), () -> stop, "stack", "--env-file", envFile.toString()));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(envFile) && !running.isDone() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(envFile).as(running.isDone() ? running.get().err() : "env file").exists();
            Map<String, String> env = new LinkedHashMap<>();
            for (String line : Files.readAllLines(envFile)) {
                if (!line.startsWith("#")) {
                    String[] kv = line.split("=", 2);
                    env.put(kv[0], kv[1].substring(1, kv[1].length() - 1)); // no quotes inside these values
                }
            }
            assertThat(env).containsOnlyKeys("KAFKA_BOOTSTRAP", "JDBC_URL", "S3_ENDPOINT", "S3_ACCESS_KEY",
                    "S3_SECRET_KEY", "UPLOADS_DIR");
            assertThat(Settings.ENVIRONMENT).containsKeys(env.keySet().toArray(String[]::new));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", env.get("KAFKA_BOOTSTRAP")))) {
                assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(1);
            }
            try (Connection c = DriverManager.getConnection(env.get("JDBC_URL"));
                 ResultSet rs = c.createStatement().executeQuery("SELECT current_schema()")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("zulip");
            }
            assertThat(Path.of(env.get("UPLOADS_DIR"))).isDirectory();
        } finally {
            stop.request();
        }
        CliRun run = running.get(60, TimeUnit.SECONDS);
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("# stack ready");
        assertThat(envFile).doesNotExist();
    }

    /** What {@code set -a; . FILE} gives a POSIX shell, one value a line. */
    private static List<String> readWithShell(Path file) throws Exception {
        StringBuilder script = new StringBuilder("set -a; . \"$1\"; printf '%s\\n'");
        for (String name : environment().keySet()) {
            script.append(" \"$").append(name).append('"');
        }
        Process process = new ProcessBuilder("sh", "-c", script.toString(), "sh", file.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().toList();
    }
}
