package org.realmexport.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code --config FILE} and {@code --set key=value}: any config key, for the services and clients. */
public class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file of config keys (see README); kafka.* keys pass through to the Kafka clients.")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Sets one config key (repeatable), e.g. --set task.partitions=24 --set kafka.security.protocol=SSL.")
    Map<String, String> sets = new LinkedHashMap<>();
}
