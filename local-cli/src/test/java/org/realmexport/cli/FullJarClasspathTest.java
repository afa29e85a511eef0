package org.realmexport.cli;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URLClassLoader;

import static org.assertj.core.api.Assertions.assertThat;

/** The full jar runs from local-cli's runtime classpath (target/lib/ is a copy of it). */
class FullJarClasspathTest {
    @ParameterizedTest
    @ValueSource(strings = {
            "org/realmexport/cli/RealmExportCommand.class",            // the services' command (cli)
            "org/realmexport/localstack/EmbeddedStack.class",
            "kafka/server/KafkaRaftServer.class",
            "org/gaul/s3proxy/S3Proxy.class",
            "ch/qos/logback/classic/Logger.class"})                    // else the services log nothing
    void whatTheFullJarRunsIsOnItsRuntimeClasspath(String resource) throws IOException {
        try (URLClassLoader runtime = ServicesClasspathTest.runtimeClasspath()) {
            assertThat(runtime.getResource(resource)).as(resource).isNotNull();
        }
    }
}
