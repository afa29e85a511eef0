package org.realmexport.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The services' jar and image run from cli's runtime classpath (target/lib/ is a copy of it): no
 * embedded Kafka broker, PostgreSQL binaries or S3 server in it. The tests have local-stack on their
 * own classpath, so this looks at the runtime classpath Maven wrote (build-classpath, see the pom).
 */
class ServicesClasspathTest {
    static URLClassLoader runtime;

    @BeforeAll
    static void load() throws IOException {
        runtime = runtimeClasspath();
    }

    /** The module's runtime classpath, as the build wrote it (target/runtime-classpath.txt), alone. */
    static URLClassLoader runtimeClasspath() throws IOException {
        Path file = Path.of(System.getProperty("basedir", "."), "target", "runtime-classpath.txt");
        assertThat(file).as("written by the build (mvn test)").exists();
        URL[] urls = Arrays.stream(Files.readString(file).trim().split(File.pathSeparator))
                .map(ServicesClasspathTest::url).toArray(URL[]::new);
        return new URLClassLoader(urls, null); // no parent: only these entries (and the JDK's own)
    }

    private static URL url(String entry) {
        try {
            return Path.of(entry).toUri().toURL();
        } catch (IOException e) {
            throw new IllegalArgumentException(entry, e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "org/realmexport/localstack/EmbeddedStack.class",         // local-stack
            "kafka/server/KafkaRaftServer.class",                      // the Kafka broker (kafka_2.13)
            "org/apache/kafka/server/ReplicaFetch.class",              // kafka-server
            "io/zonky/test/db/postgres/embedded/EmbeddedPostgres.class",
            "postgres-linux-x86_64.txz",                               // the PostgreSQL binaries
            "org/gaul/s3proxy/S3Proxy.class"})
    void theEmbeddedStackIsNotOnTheServicesRuntimeClasspath(String resource) {
        assertThat(runtime.getResource(resource)).as(resource).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "org/realmexport/producer/ExportProducer.class",
            "org/realmexport/worker/ShardWorker.class",
            "org/realmexport/assembler/ExportAssembler.class",
            "org/apache/kafka/clients/producer/KafkaProducer.class",
            "org/postgresql/Driver.class",
            "picocli/CommandLine.class",
            "ch/qos/logback/classic/Logger.class"})                    // else SLF4J logs nothing
    void whatTheServicesRunIsOnIt(String resource) {
        assertThat(runtime.getResource(resource)).as(resource).isNotNull();
    }
}
