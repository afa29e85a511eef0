package org.realmexport.localstack.generator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
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
 * Without a JDBC URL it starts an embedded PostgreSQL configured like the embedded stack's
 * ({@code wal_level=logical}, fsync on) into an empty schema {@code zulip}.
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
                try (TestPostgres pg = TestPostgres.start(Map.of("wal_level", "logical", "max_wal_size", "2GB"))) {
                    run(pg.jdbcUrl(pg.newDatabase()), messages, uploads);
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

    private static void run(String jdbcUrl, int messages, Path uploads) {
        GeneratorOptions options = GeneratorOptions.defaults().withMessages(messages).withUploadsDir(uploads);
        long started = System.nanoTime();
        GeneratedRealms realms = new RealmGenerator(options).generate(jdbcUrl);
        double seconds = (System.nanoTime() - started) / 1e9;
        long rows = realms.totalRows();
        long messageRows = realms.tableRowCounts().getOrDefault("zerver_message", 0L);
        long userMessageRows = realms.tableRowCounts().getOrDefault("zerver_usermessage", 0L);
        System.out.printf("%n%s%n", options);
        System.out.printf("zerver_message: %,d rows, zerver_usermessage: %,d rows, all tables: %,d rows%n",
                messageRows, userMessageRows, rows);
        System.out.printf("loaded in %.1f s: %,.0f rows/s overall, %,.0f usermessage rows/s%n",
                seconds, rows / seconds, userMessageRows / seconds);
    }
}
