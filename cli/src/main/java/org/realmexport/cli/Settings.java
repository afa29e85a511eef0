package org.realmexport.cli;

import org.realmexport.worker.ShardWorkerConfig;
import org.realmexport.common.config.RealmExportConfig;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Where every sub-command's settings come from, lowest precedence first:
 * <ol>
 *   <li>the environment variables of {@link #ENVIRONMENT} (what {@code stack} prints and
 *       docker-compose sets);</li>
 *   <li>{@code --config FILE}, a properties file of config keys ({@code kafka.*} keys pass
 *       through to the Kafka clients);</li>
 *   <li>{@code --set key=value};</li>
 *   <li>the named options ({@code --bootstrap-servers}, {@code --jdbc-url}, ...).</li>
 * </ol>
 * So anything on the command line beats the ambient environment, and a named option beats a
 * generic one.
 */
final class Settings {
    /**
     * Every environment variable the CLI reads, to the config key it fills: the one list, used by
     * the resolver, the docs and the docker-compose test. CLI-only variables would be added here.
     */
    static final Map<String, String> ENVIRONMENT = environment();

    private static Map<String, String> environment() {
        Map<String, String> variables = new LinkedHashMap<>(RealmExportConfig.ENVIRONMENT);
        // a secret of Zulip's (zulip-secrets.conf): the environment is the place for it, not argv
        variables.put("AVATAR_SALT", ShardWorkerConfig.AVATAR_SALT);
        return Map.copyOf(variables);
    }

    /** Something that contributes explicitly given options. */
    interface Source {
        void putExplicit(Map<String, Object> settings);
    }

    private Settings() {
    }

    static Map<String, Object> resolve(Map<String, String> env, ConfigOptions config, Source... sources) {
        Map<String, Object> settings = new LinkedHashMap<>();
        ENVIRONMENT.forEach((variable, key) -> {
            String value = env.get(variable);
            if (value != null && !value.isBlank()) {
                settings.put(key, value);
            }
        });
        if (config != null) {
            if (config.file != null) {
                settings.putAll(load(config.file));
            }
            settings.putAll(config.sets);
        }
        for (Source source : sources) {
            source.putExplicit(settings);
        }
        return settings;
    }

    static Map<String, String> load(Path file) {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(reader);
        } catch (NoSuchFileException e) {
            throw new UsageException("config file " + file + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            throw new UsageException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        props.stringPropertyNames().forEach(key -> out.put(key, props.getProperty(key).trim()));
        return out;
    }

    static void putIfSet(Map<String, Object> settings, String key, Object value) {
        if (value != null) {
            settings.put(key, value.toString());
        }
    }
}
