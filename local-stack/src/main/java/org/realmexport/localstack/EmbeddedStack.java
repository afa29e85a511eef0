package org.realmexport.localstack;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Everything realm-export talks to, started inside this JVM for the demo and the tests: a
 * single-node Kafka broker (KRaft), a PostgreSQL 17 server shaped like Zulip's, an S3-compatible
 * server and an empty Zulip uploads directory. Ports are random free ports on 127.0.0.1 and all
 * state lives in one temporary directory, so several stacks can run side by side in one JVM.
 *
 * <pre>{@code
 * try (EmbeddedStack stack = EmbeddedStack.builder().s3(false).start()) {
 *     stack.kafkaBootstrap();  // "127.0.0.1:PORT"
 *     stack.jdbcUrl();         // "jdbc:postgresql://127.0.0.1:PORT/zulip?user=zulip&currentSchema=zulip"
 * }
 * }</pre>
 *
 * <p>{@link #close()} stops every part and deletes the temporary directory. It is idempotent and
 * thread-safe, and a JVM shutdown hook calls it too (unless switched off), so that an interrupted
 * demo does not leave a PostgreSQL process behind. Two machine-wide caches in
 * {@code java.io.tmpdir} outlive every stack on purpose: zonky's unpacked PostgreSQL binaries
 * ({@code embedded-pg/}) and the initialised cluster new stacks copy ({@code realm-export-pg-template/}).
 *
 * <p>Footprint: with all parts up and some traffic the broker, S3 server and clients hold about
 * 50 MB of heap, so the stack fits a 256 MB-heap JVM next to the services.
 */
public final class EmbeddedStack implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedStack.class);
    private static final AtomicInteger STARTER_THREADS = new AtomicInteger();

    private final Path root;
    private final EmbeddedKafka kafka;
    private final EmbeddedDatabase database;
    private final EmbeddedS3Server s3;
    private final Path uploadsDir;
    private final Duration startupTime;
    /** Start-up time of each part, for the log line: the slow part is the one to look at. */
    private final Map<String, Duration> partTimes;
    private final Thread shutdownHook;
    private boolean closed;

    private EmbeddedStack(Path root, EmbeddedKafka kafka, EmbeddedDatabase database, EmbeddedS3Server s3,
                          Path uploadsDir, Duration startupTime, Map<String, Duration> partTimes,
                          boolean registerShutdownHook) {
        this.root = root;
        this.kafka = kafka;
        this.database = database;
        this.s3 = s3;
        this.uploadsDir = uploadsDir;
        this.startupTime = startupTime;
        this.partTimes = partTimes;
        this.shutdownHook = registerShutdownHook ? new Thread(this::closeOnShutdown, "embedded-stack-shutdown") : null;
    }

    /** A builder with every part switched on. */
    public static Builder builder() {
        return new Builder();
    }

    /** Which parts to start, and where. Every part is on by default. */
    public static final class Builder {
        private boolean kafka = true;
        private boolean postgres = true;
        private boolean s3 = true;
        private boolean uploads = true;
        private boolean shutdownHook = true;
        private Path baseDir;
        private final Map<String, String> kafkaConfig = new LinkedHashMap<>();

        private Builder() {
        }

        /** The Kafka broker (KRaft, broker and controller in one). */
        public Builder kafka(boolean on) {
            this.kafka = on;
            return this;
        }

        /** PostgreSQL with role, database and empty schema {@code zulip}. */
        public Builder postgres(boolean on) {
            this.postgres = on;
            return this;
        }

        /** The S3-compatible server. */
        public Builder s3(boolean on) {
            this.s3 = on;
            return this;
        }

        /** The empty Zulip uploads directory. */
        public Builder uploads(boolean on) {
            this.uploads = on;
            return this;
        }

        /** A broker setting that wins over the stack's small-footprint defaults. */
        public Builder kafkaConfig(String key, String value) {
            this.kafkaConfig.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Where the stack's temporary directory is created; default {@code java.io.tmpdir}. */
        public Builder baseDir(Path dir) {
            this.baseDir = dir;
            return this;
        }

        /** Whether a JVM shutdown hook closes the stack; default true. */
        public Builder shutdownHook(boolean register) {
            this.shutdownHook = register;
            return this;
        }

        /**
         * Starts the chosen parts in parallel and returns when all of them serve requests.
         *
         * @throws IllegalStateException when a part fails to start; the parts that did start are
         *                               stopped and the temporary directory is deleted first
         */
        public EmbeddedStack start() {
            long started = System.nanoTime();
            Path root = createRoot(baseDir);
            ExecutorService starter = Executors.newFixedThreadPool(3, runnable -> {
                Thread thread = new Thread(runnable, "embedded-stack-start-" + STARTER_THREADS.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
            Map<String, String> brokerConfig = Map.copyOf(kafkaConfig);
            Map<String, Duration> partTimes = new java.util.concurrent.ConcurrentHashMap<>();
            Future<EmbeddedKafka> kafkaFuture = kafka ? starter.submit(timed("Kafka", partTimes,
                    () -> EmbeddedKafka.start(root.resolve("kafka"), brokerConfig))) : null;
            Future<EmbeddedDatabase> databaseFuture = postgres ? starter.submit(timed("PostgreSQL", partTimes,
                    () -> EmbeddedDatabase.start(root.resolve("postgres")))) : null;
            Future<EmbeddedS3Server> s3Future = s3 ? starter.submit(timed("S3", partTimes,
                    () -> EmbeddedS3Server.start(root.resolve("s3")))) : null;
            starter.shutdown();

            List<Throwable> failures = new ArrayList<>();
            Path uploadsDir = null;
            if (uploads) {
                uploadsDir = collect(() -> UploadsDirectory.create(root.resolve("uploads")), "uploads directory", failures);
            }
            EmbeddedKafka startedKafka = await(kafkaFuture, "Kafka", failures);
            EmbeddedDatabase startedDatabase = await(databaseFuture, "PostgreSQL", failures);
            EmbeddedS3Server startedS3 = await(s3Future, "S3 server", failures);

            EmbeddedStack stack = new EmbeddedStack(root, startedKafka, startedDatabase, startedS3, uploadsDir,
                    Duration.ofNanos(System.nanoTime() - started), Map.copyOf(partTimes), shutdownHook);
            if (!failures.isEmpty()) {
                IllegalStateException failure = new IllegalStateException(
                        "The embedded stack failed to start: " + failures.get(0).getMessage(), failures.get(0));
                failures.stream().skip(1).forEach(failure::addSuppressed);
                try {
                    stack.close();
                } catch (RuntimeException e) {
                    failure.addSuppressed(e);
                }
                throw failure;
            }
            if (stack.shutdownHook != null) {
                Runtime.getRuntime().addShutdownHook(stack.shutdownHook);
            }
            LOG.info("Embedded stack started in {}: {}", seconds(stack.startupTime), stack.describe());
            return stack;
        }

        private static Path createRoot(Path baseDir) {
            try {
                return baseDir == null
                        ? Files.createTempDirectory("realm-export-stack-")
                        : Files.createTempDirectory(Files.createDirectories(baseDir), "realm-export-stack-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the embedded stack's temporary directory", e);
            }
        }

        private static <T> Callable<T> timed(String part, Map<String, Duration> times, Callable<T> step) {
            return () -> {
                long started = System.nanoTime();
                T result = step.call();
                times.put(part, Duration.ofNanos(System.nanoTime() - started));
                return result;
            };
        }

        /**
         * The started part, or null after recording why not. An interrupt does not cut the wait
         * short: a part left starting could not be stopped; start() fails once all are in.
         */
        private static <T> T await(Future<T> future, String part, List<Throwable> failures) {
            if (future == null) {
                return null;
            }
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        return future.get();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException e) {
                        failures.add(new IllegalStateException(part + " did not start: " + e.getCause(), e.getCause()));
                        return null;
                    }
                }
            } finally {
                if (interrupted) {
                    failures.add(new IllegalStateException("interrupted while " + part + " was starting"));
                    Thread.currentThread().interrupt();
                }
            }
        }

        private static <T> T collect(Callable<T> step, String part, List<Throwable> failures) {
            try {
                return step.call();
            } catch (Exception e) {
                failures.add(new IllegalStateException(part + " did not start: " + e, e));
                return null;
            }
        }
    }

    /** Kafka's bootstrap servers, {@code 127.0.0.1:PORT}. */
    public String kafkaBootstrap() {
        return require(kafka, "Kafka", "kafka").bootstrapServers();
    }

    /**
     * Stops PostgreSQL as a server restart would (open sessions are cut off), keeping its port and
     * data directory; {@link #startPostgres()} brings it back. For tests of transient faults.
     */
    public void stopPostgres() {
        try {
            require(database, "PostgreSQL", "postgres").stop();
        } catch (IOException e) {
            throw new UncheckedIOException("PostgreSQL did not stop", e);
        }
        LOG.info("Embedded PostgreSQL stopped (port {} kept)", database.port());
    }

    /** Starts PostgreSQL again on the same port and data directory, after {@link #stopPostgres()}. */
    public void startPostgres() {
        try {
            require(database, "PostgreSQL", "postgres").start();
        } catch (IOException e) {
            throw new UncheckedIOException("PostgreSQL did not start again", e);
        }
        LOG.info("Embedded PostgreSQL started again on port {}", database.port());
    }

    /**
     * Stops the Kafka broker, keeping its ports and log directory; {@link #startKafka()} brings it
     * back. Clients retry meanwhile. For tests of a broker restart.
     */
    public void stopKafka() {
        require(kafka, "Kafka", "kafka").stop();
        LOG.info("Embedded Kafka stopped ({} kept)", kafka.bootstrapServers());
    }

    /** Starts the Kafka broker again on the same ports and log directory, after {@link #stopKafka()}. */
    public void startKafka() {
        require(kafka, "Kafka", "kafka").start();
        LOG.info("Embedded Kafka started again on {}", kafka.bootstrapServers());
    }

    /** Zulip's connection: {@code jdbc:postgresql://127.0.0.1:PORT/zulip?user=zulip&currentSchema=zulip}. */
    public String jdbcUrl() {
        return require(database, "PostgreSQL", "postgres").jdbcUrl();
    }

    /**
     * The superuser's connection to the same database, also with {@code currentSchema=zulip} so
     * that its DDL lands where Zulip's tables are; for tests that need DDL or replication.
     */
    public String adminJdbcUrl() {
        return require(database, "PostgreSQL", "postgres").adminJdbcUrl();
    }

    /** The S3 endpoint, {@code http://127.0.0.1:PORT}; use path-style access. */
    public String s3Endpoint() {
        return require(s3, "S3", "s3").endpoint();
    }

    /** Access key of the local S3 server: a fixed demo value that opens nothing else. */
    public String s3AccessKey() {
        require(s3, "S3", "s3");
        return EmbeddedS3Server.ACCESS_KEY;
    }

    /** Secret key of the local S3 server: a fixed demo value that opens nothing else. */
    public String s3SecretKey() {
        require(s3, "S3", "s3");
        return EmbeddedS3Server.SECRET_KEY;
    }

    /** An empty Zulip LOCAL_UPLOADS_DIR with {@code files/} and {@code avatars/}. */
    public Path uploadsDir() {
        return require(uploadsDir, "The uploads directory", "uploads");
    }

    /**
     * The connection settings as the environment variables that the services read, in this order:
     * KAFKA_BOOTSTRAP, JDBC_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, UPLOADS_DIR. Parts that
     * are switched off are left out.
     */
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        if (kafka != null) {
            env.put("KAFKA_BOOTSTRAP", kafkaBootstrap());
        }
        if (database != null) {
            env.put("JDBC_URL", jdbcUrl());
        }
        if (s3 != null) {
            env.put("S3_ENDPOINT", s3Endpoint());
            env.put("S3_ACCESS_KEY", s3AccessKey());
            env.put("S3_SECRET_KEY", s3SecretKey());
        }
        if (uploadsDir != null) {
            env.put("UPLOADS_DIR", uploadsDir.toString());
        }
        return Collections.unmodifiableMap(env);
    }

    /** How long {@link Builder#start()} took, from call to all parts serving. */
    public Duration startupTime() {
        return startupTime;
    }

    /** The temporary directory holding all of the stack's state. */
    Path rootDir() {
        return root;
    }

    /** The thread registered as JVM shutdown hook, or null. */
    Thread shutdownHookThread() {
        return shutdownHook;
    }

    /**
     * Stops every part (PostgreSQL in parallel with the in-JVM parts) and deletes the temporary
     * directory. Idempotent and thread-safe: a second caller waits for the first to finish.
     *
     * @throws IllegalStateException when a part did not stop cleanly or the directory could not be
     *                               deleted (every step is still attempted)
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long started = System.nanoTime();
        List<Exception> failures = Collections.synchronizedList(new ArrayList<>());
        List<String> stopTimes = Collections.synchronizedList(new ArrayList<>());
        // PostgreSQL is a child process whose fast shutdown takes about a second of mostly waiting:
        // stop it alongside the in-JVM parts rather than after them.
        Thread databaseStopper = new Thread(() -> stop(database, "PostgreSQL", failures, stopTimes),
                "embedded-stack-stop-postgres");
        databaseStopper.start();
        stop(kafka, "Kafka", failures, stopTimes);
        stop(s3, "S3", failures, stopTimes);
        boolean interrupted = false;
        while (databaseStopper.isAlive()) {
            try {
                databaseStopper.join();
            } catch (InterruptedException e) {
                interrupted = true; // finish closing first; the caller sees the flag afterwards
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            Directories.deleteTree(root);
        } catch (IOException e) {
            failures.add(e);
        }
        if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down and will run the hook, which finds the stack closed
            }
        }
        if (!failures.isEmpty()) {
            IllegalStateException failure = new IllegalStateException(
                    "The embedded stack did not stop cleanly: " + failures.get(0), failures.get(0));
            failures.stream().skip(1).forEach(failure::addSuppressed);
            throw failure;
        }
        LOG.info("Embedded stack stopped in {} ({}); removed {}", seconds(Duration.ofNanos(System.nanoTime() - started)),
                String.join(", ", stopTimes), root);
    }

    @Override
    public String toString() {
        return "EmbeddedStack[" + describe() + "]";
    }

    private String describe() {
        List<String> parts = new ArrayList<>();
        if (kafka != null) {
            parts.add("Kafka " + kafka.bootstrapServers() + took("Kafka"));
        }
        if (database != null) {
            parts.add("PostgreSQL " + database.jdbcUrl() + took("PostgreSQL"));
        }
        if (s3 != null) {
            parts.add("S3 " + s3.endpoint() + took("S3"));
        }
        if (uploadsDir != null) {
            parts.add("uploads " + uploadsDir);
        }
        return String.join(", ", parts) + " (state in " + root + ")";
    }

    private String took(String part) {
        Duration time = partTimes.get(part);
        return time == null ? "" : " (" + seconds(time) + ")";
    }

    private void closeOnShutdown() {
        try {
            close();
        } catch (RuntimeException e) {
            LOG.warn("Embedded stack: {} (at JVM shutdown)", e.getMessage());
        }
    }

    private static void stop(AutoCloseable part, String name, List<Exception> failures, List<String> times) {
        if (part == null) {
            return;
        }
        long started = System.nanoTime();
        try {
            part.close();
            times.add(name + " " + seconds(Duration.ofNanos(System.nanoTime() - started)));
        } catch (Exception e) {
            LOG.warn("Embedded stack: {} did not stop cleanly: {}", name, e.toString());
            failures.add(e);
        }
    }

    private static <T> T require(T part, String name, String builderMethod) {
        if (part == null) {
            throw new IllegalStateException(name + " is switched off in this stack; start it with EmbeddedStack.builder()."
                    + builderMethod + "(true)");
        }
        return part;
    }

    private static String seconds(Duration duration) {
        return String.format(Locale.ROOT, "%.2f s", duration.toNanos() / 1e9);
    }
}
