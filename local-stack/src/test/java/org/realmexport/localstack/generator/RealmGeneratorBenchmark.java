package org.realmexport.localstack.generator;

import org.realmexport.localstack.EmbeddedStack;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Not a test (never run by the build): loads N messages (default 1,000,000, so ~10M usermessages)
 * and prints the time and rows per second.
 *
 * <pre>
 * mvn -B -q -pl local-stack -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -Xmx1g -cp local-stack/target/test-classes:local-stack/target/classes:$(cat /tmp/cp.txt) \
 *      org.realmexport.localstack.generator.RealmGeneratorBenchmark [messages] [jdbc-url]
 * </pre>
 * {@code -DserialIndexBuilds=true} turns off parallel index builds, so the reported backend CPU
 * time is all of PostgreSQL's work. Without a JDBC URL it generates into the PostgreSQL of an
 * {@link EmbeddedStack} (what the demo uses).
 */
public final class RealmGeneratorBenchmark {
    private RealmGeneratorBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int messages = args.length > 0 ? Integer.parseInt(args[0].replace("_", "")) : 1_000_000;
        Path uploads = Files.createTempDirectory("realm-generator-benchmark-");
        try {
            if (args.length > 1) {
                run(args[1], messages, uploads);
            } else {
                try (EmbeddedStack stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).start()) {
                    run(stack.jdbcUrl(), messages, uploads);
                }
            }
        } finally {
            try (Stream<Path> walk = Files.walk(uploads)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException ignored) {
                // temp dir
            }
        }
    }

    private static void run(String jdbcUrl, int messages, Path uploads) throws Exception {
        GeneratorOptions options = GeneratorOptions.defaults().withMessages(messages).withUploadsDir(uploads);
        GeneratedRealms realms;
        double seconds;
        double javaCpu;
        double backendCpu;
        try (Connection c = DriverManager.getConnection(jdbcUrl)) {
            // CPU time as well as wall time: on a shared machine the wall time mostly measures the neighbours.
            if (Boolean.getBoolean("serialIndexBuilds")) {
                // all PostgreSQL work in the one backend, so its CPU time is the whole cost
                try (Statement st = c.createStatement()) {
                    st.execute("SET max_parallel_maintenance_workers = 0");
                }
            }
            int backend = backendPid(c);
            double backendBefore = processCpuSeconds(backend);
            double javaBefore = javaCpuSeconds();
            long started = System.nanoTime();
            realms = new RealmGenerator(options).generate(c);
            seconds = (System.nanoTime() - started) / 1e9;
            javaCpu = javaCpuSeconds() - javaBefore;
            backendCpu = processCpuSeconds(backend) - backendBefore;
        }
        long rows = realms.totalRows();
        long messageRows = realms.tableRowCounts().getOrDefault("zerver_message", 0L);
        long userMessageRows = realms.tableRowCounts().getOrDefault("zerver_usermessage", 0L);
        System.out.printf("%n%s%n", options);
        System.out.printf("zerver_message: %,d rows, zerver_usermessage: %,d rows, all tables: %,d rows%n",
                messageRows, userMessageRows, rows);
        System.out.printf("loaded in %.1f s: %,.0f rows/s overall, %,.0f usermessage rows/s%n",
                seconds, rows / seconds, userMessageRows / seconds);
        System.out.printf("CPU: generator JVM %.1f s, PostgreSQL backend %.1f s (parallel index workers not included);"
                + " load average %.1f on %d cores%n", javaCpu, backendCpu,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), Runtime.getRuntime().availableProcessors());
    }

    private static int backendPid(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** utime + stime of a local process from /proc (Linux), in seconds; NaN when unreadable. */
    private static double processCpuSeconds(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static double javaCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }
}
