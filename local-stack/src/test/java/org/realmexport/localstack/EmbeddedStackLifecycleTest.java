package org.realmexport.localstack;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.Bucket;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Starting, sharing a JVM, failing and stopping: what the other modules' tests rely on. */
class EmbeddedStackLifecycleTest {
    @TempDir
    Path base;

    @Test
    void postgresAndKafkaStopAndStartAgainOnTheSamePortsWithTheirData() throws Exception {
        try (EmbeddedStack stack = EmbeddedStack.builder().baseDir(base).s3(false).uploads(false).start()) {
            String url = stack.jdbcUrl();
            String bootstrap = stack.kafkaBootstrap();
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE kept (id int)");
                s.execute("INSERT INTO kept VALUES (42)");
            }
            KafkaRoundTrip.createTopic(bootstrap, "kept", 1);
            KafkaRoundTrip.produce(bootstrap, "kept", Map.of("k", "before"));

            stack.stopPostgres();
            assertThatThrownBy(() -> DriverManager.getConnection(url).close())
                    .isInstanceOf(java.sql.SQLException.class)
                    .satisfies(e -> assertThat(((java.sql.SQLException) e).getSQLState()).startsWith("08"));
            stack.stopKafka();
            assertThat(listening(bootstrap)).isFalse();

            stack.startPostgres();
            stack.startKafka();
            assertThat(stack.jdbcUrl()).isEqualTo(url);
            assertThat(stack.kafkaBootstrap()).isEqualTo(bootstrap);
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                assertThat(EmbeddedStackTest.single(s, "SELECT id FROM kept")).isEqualTo("42");
            }
            KafkaRoundTrip.produce(bootstrap, "kept", Map.of("k", "after"));
            assertThat(KafkaRoundTrip.consumeValues(bootstrap, "kept", "read_committed", v -> v.size() == 2))
                    .containsExactly("before", "after");
        }
    }

    private static boolean listening(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void twoStacksRunSideBySideWithoutSeeingEachOther() throws Exception {
        CompletableFuture<EmbeddedStack> startingA = CompletableFuture.supplyAsync(() -> EmbeddedStack.builder().baseDir(base).start());
        CompletableFuture<EmbeddedStack> startingB = CompletableFuture.supplyAsync(() -> EmbeddedStack.builder().baseDir(base).start());
        EmbeddedStack a = startingA.join();
        EmbeddedStack b = startingB.join();
        List<Integer> portsA;
        List<Integer> portsB;
        try {
            portsA = ports(a);
            portsB = ports(b);
            assertThat(portsA).doesNotContainAnyElementsOf(portsB);
            assertThat(a.rootDir()).isNotEqualTo(b.rootDir());
            assertThat(a.uploadsDir()).isNotEqualTo(b.uploadsDir());

            // Kafka: the same topic name on both brokers holds different records
            KafkaRoundTrip.createTopic(a.kafkaBootstrap(), "shared-name", 1);
            KafkaRoundTrip.createTopic(b.kafkaBootstrap(), "shared-name", 1);
            KafkaRoundTrip.produce(a.kafkaBootstrap(), "shared-name", Map.of("k", "from-a"));
            KafkaRoundTrip.produce(b.kafkaBootstrap(), "shared-name", Map.of("k", "from-b"));
            assertThat(KafkaRoundTrip.consumeValues(a.kafkaBootstrap(), "shared-name", "read_committed", v -> !v.isEmpty()))
                    .containsExactly("from-a");
            assertThat(KafkaRoundTrip.consumeValues(b.kafkaBootstrap(), "shared-name", "read_committed", v -> !v.isEmpty()))
                    .containsExactly("from-b");

            // PostgreSQL: a table created in one database is absent from the other
            try (Connection c = DriverManager.getConnection(a.jdbcUrl()); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE only_in_a (id int)");
            }
            try (Connection c = DriverManager.getConnection(b.jdbcUrl()); Statement s = c.createStatement()) {
                assertThat(EmbeddedStackTest.single(s, "SELECT to_regclass('only_in_a') IS NULL")).isEqualTo("t");
            }

            // S3: a bucket created on one server is absent from the other
            try (S3Client s3a = s3(a); S3Client s3b = s3(b)) {
                s3a.createBucket(r -> r.bucket("only-in-a"));
                assertThat(s3a.listBuckets().buckets()).extracting(Bucket::name).contains("only-in-a");
                assertThat(s3b.listBuckets().buckets()).extracting(Bucket::name).doesNotContain("only-in-a");
            }
        } finally {
            a.close();
            b.close();
        }
        assertThat(a.rootDir()).doesNotExist();
        assertThat(b.rootDir()).doesNotExist();
        for (int port : Stream.concat(portsA.stream(), portsB.stream()).collect(Collectors.toList())) {
            assertThat(accepts(port)).as("port %d still open after close", port).isFalse();
        }
    }

    @Test
    void aPostgresOnlyStackStartsJustThatAndCleansUpOnClose() throws Exception {
        EmbeddedStack stack = EmbeddedStack.builder().kafka(false).s3(false).uploads(false).baseDir(base).start();
        int port = port(stack.jdbcUrl());
        Path root = stack.rootDir();
        try {
            assertThat(stack.environment()).containsOnlyKeys("JDBC_URL");
            assertThatThrownBy(stack::kafkaBootstrap).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("kafka(true)");
            assertThatThrownBy(stack::s3Endpoint).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("s3(true)");
            assertThatThrownBy(stack::uploadsDir).isInstanceOf(IllegalStateException.class);
            try (Stream<Path> children = Files.list(root)) {
                assertThat(children.map(p -> p.getFileName().toString())).containsExactly("postgres");
            }
            assertThat(accepts(port)).isTrue();
            assertThat(postgresProcessesUnder(base)).isNotEmpty();
        } finally {
            stack.close();
        }
        assertThat(root).doesNotExist();
        assertThat(accepts(port)).isFalse();
        assertThat(postgresProcessesUnder(base)).isEmpty();
        stack.close(); // idempotent
        // closed normally: the shutdown hook was taken back, so many stacks do not pile up hooks
        assertThat(Runtime.getRuntime().removeShutdownHook(stack.shutdownHookThread())).isFalse();
    }

    @Test
    void theShutdownHookClosesTheStackAndALaterCloseIsANoOp() throws Exception {
        EmbeddedStack stack = EmbeddedStack.builder().kafka(true).postgres(true).s3(false).baseDir(base).start();
        Thread hook = stack.shutdownHookThread();
        List<Integer> ports = ports(stack);
        // it is registered with the JVM; take it back and run it as the JVM would, on its own thread
        assertThat(Runtime.getRuntime().removeShutdownHook(hook)).isTrue();
        hook.start();
        hook.join();
        assertThat(stack.rootDir()).doesNotExist();
        for (int port : ports) {
            assertThat(accepts(port)).as("port %d", port).isFalse();
        }
        stack.close();
    }

    @Test
    void aPartThatFailsToStartTakesTheOthersDownAndLeavesNothingBehind() throws Exception {
        // below the broker's minimum segment size: KafkaConfig rejects it while the others start
        assertThatThrownBy(() -> EmbeddedStack.builder().baseDir(base).kafkaConfig("log.segment.bytes", "1000").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Kafka")
                .hasMessageContaining("log.segment.bytes");
        try (Stream<Path> left = Files.list(base)) {
            assertThat(left).isEmpty();
        }
        assertThat(postgresProcessesUnder(base)).isEmpty();
    }

    private static S3Client s3(EmbeddedStack stack) {
        return S3Client.builder()
                .endpointOverride(URI.create(stack.s3Endpoint()))
                .forcePathStyle(true)
                .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(stack.s3AccessKey(), stack.s3SecretKey())))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .build();
    }

    private static List<Integer> ports(EmbeddedStack stack) {
        List<Integer> ports = new java.util.ArrayList<>();
        Map<String, String> env = stack.environment();
        if (env.containsKey("KAFKA_BOOTSTRAP")) {
            ports.add(port(env.get("KAFKA_BOOTSTRAP")));
        }
        if (env.containsKey("JDBC_URL")) {
            ports.add(port(env.get("JDBC_URL")));
        }
        if (env.containsKey("S3_ENDPOINT")) {
            ports.add(port(env.get("S3_ENDPOINT")));
        }
        return ports;
    }

    private static int port(String endpoint) {
        Matcher m = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(endpoint);
        assertThat(m.find()).as(endpoint).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static boolean accepts(int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (ConnectException e) {
            return false;
        }
    }

    /** postgres server processes whose command line names a directory under {@code dir}. */
    private static Set<Long> postgresProcessesUnder(Path dir) {
        String prefix = dir.toString();
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains("postgres") && c.contains(prefix)).orElse(false))
                .map(ProcessHandle::pid)
                .collect(Collectors.toSet());
    }
}
