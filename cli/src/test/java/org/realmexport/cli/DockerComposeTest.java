package org.realmexport.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** docker-compose.yml and the Dockerfile stay true to the command (no Docker needed). */
class DockerComposeTest {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    static JsonNode services;

    @BeforeAll
    static void parse() throws IOException {
        services = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile()).get("services");
        assertThat(services).as("services of docker-compose.yml").isNotNull();
    }

    /** The services that run one of this project's images (built here), by name. */
    static Map<String, JsonNode> projectServices() {
        Map<String, String> targets = imageTargets();
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().has("build") || targets.containsKey(e.getValue().path("image").asText())) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /** The Dockerfile target each image of this project is built from. */
    static Map<String, String> imageTargets() {
        Map<String, String> targets = new LinkedHashMap<>();
        for (JsonNode service : services) {
            JsonNode build = service.get("build");
            if (build != null) {
                assertThat(build.path("target").asText()).as("Dockerfile target of " + service.path("image"))
                        .isIn("services", "full");
                targets.put(service.path("image").asText(), build.path("target").asText());
            }
        }
        return targets;
    }

    static String target(JsonNode service) {
        return service.has("build") ? service.get("build").path("target").asText()
                : imageTargets().get(service.path("image").asText());
    }

    static List<String> command(JsonNode service) {
        JsonNode command = service.get("command");
        if (command == null) {
            return List.of();
        }
        if (command.isTextual()) {
            return Arrays.asList(command.asText().trim().split("\\s+"));
        }
        List<String> words = new ArrayList<>();
        command.forEach(word -> words.add(word.asText()));
        return words;
    }

    static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode node = service.path("environment");
        if (node.isArray()) {
            node.forEach(entry -> {
                String[] kv = entry.asText().split("=", 2);
                env.put(kv[0], kv.length > 1 ? kv[1] : "");
            });
        } else {
            node.fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        }
        return env;
    }

    @Test
    void theThreeServicesRunFromTheServicesImage() {
        Map<String, JsonNode> project = projectServices();
        assertThat(project).containsKeys("producer", "shard-worker", "assembler");
        for (String name : List.of("producer", "shard-worker", "assembler")) {
            assertThat(command(project.get(name))).first().isEqualTo(name);
            assertThat(target(project.get(name))).as("image of " + name).isEqualTo("services");
        }
    }

    @Test
    void everyCommandIsARealSubCommandOfItsImageWithRealOptions() {
        CommandLine cli = RealmExportCommand.commandLine(new RealmExportCommand());
        Set<String> subCommands = cli.getSubcommands().keySet();
        projectServices().forEach((name, service) -> {
            List<String> words = command(service);
            assertThat(words).as("command of " + name).isNotEmpty();
            if ("full".equals(target(service))) {
                // the full image's own commands are parsed by local-cli's tests; here: it needs that image
                assertThat(RealmExportCommand.FULL_JAR_COMMANDS).as("command of " + name + " (full image)")
                        .contains(words.get(0));
                return;
            }
            assertThat(subCommands).as("sub-command of service " + name).contains(words.get(0));
            // parsing throws on an unknown option or a bad value
            RealmExportCommand.commandLine(new RealmExportCommand()).parseArgs(words.toArray(String[]::new));
        });
    }

    @Test
    void everyEnvironmentVariableOfTheProjectServicesIsOneTheCliReads() {
        projectServices().forEach((name, service) ->
                assertThat(Settings.ENVIRONMENT.keySet()).as("variables the CLI reads, for service " + name)
                        .containsAll(environment(service).keySet()));
    }

    @Test
    void kafkaRunsInKraftMode() {
        JsonNode kafka = serviceWithImage("apache/kafka:");
        Map<String, String> env = environment(kafka);

        assertThat(env.get("KAFKA_PROCESS_ROLES")).contains("controller").contains("broker");
        assertThat(env).containsKey("KAFKA_CONTROLLER_QUORUM_VOTERS").containsKey("CLUSTER_ID");
        assertThat(env.keySet()).noneMatch(key -> key.contains("ZOOKEEPER"));
    }

    @Test
    void postgresIs17WithLogicalReplication() {
        JsonNode postgres = serviceWithImage("postgres:17");

        assertThat(command(postgres)).contains("wal_level=logical");
    }

    @Test
    void minioIsThere() {
        assertThat(serviceWithImage("minio/minio")).isNotNull();
    }

    @Test
    void threeShardWorkers() {
        assertThat(services.path("shard-worker").path("deploy").path("replicas").asInt()).isEqualTo(3);
    }

    @Test
    void theDockerfilesDefaultImageRunsTheServicesJarOnJava17() throws IOException {
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        String services = dockerfile.substring(dockerfile.lastIndexOf("\nFROM "));
        String full = dockerfile.substring(dockerfile.indexOf(" AS full"), dockerfile.lastIndexOf("\nFROM "));

        assertThat(dockerfile).containsPattern("(?m)^FROM eclipse-temurin:17-jre AS base\\s*$")
                .containsPattern("(?m)^ENTRYPOINT \\[\"java\",.*\"-jar\", \"[^\"]*realm-export.jar\"\\]");
        // the last stage is what `docker build` makes without --target
        assertThat(services).startsWith("\nFROM base AS services")
                .containsPattern("(?m)^COPY cli/target/realm-export-services.jar realm-export.jar$")
                .containsPattern("(?m)^COPY cli/target/lib/ lib/$")
                .doesNotContain("local-cli");
        assertThat(full).containsPattern("(?m)^COPY local-cli/target/realm-export.jar realm-export.jar$")
                .containsPattern("(?m)^COPY local-cli/target/lib/ lib/$");
        String ignore = Files.readString(ROOT.resolve(".dockerignore"));
        assertThat(ignore.lines()).contains("!cli/target/realm-export-services.jar", "!cli/target/lib/",
                "!local-cli/target/realm-export.jar", "!local-cli/target/lib/");
    }

    private static JsonNode serviceWithImage(String prefix) {
        for (JsonNode service : services) {
            if (service.path("image").asText().startsWith(prefix)) {
                return service;
            }
        }
        throw new AssertionError("no service runs an image " + prefix + "*");
    }
}
