package org.realmexport.cli;

import org.apache.kafka.common.config.ConfigDef;
import org.realmexport.assembler.ExportAssemblerConfig;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.producer.ExportProducerConfig;
import org.realmexport.worker.ShardWorkerConfig;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The configuration reference of README.md, rendered from the services' {@link ConfigDef}s so that
 * it cannot drift from the code (ReadmeTest compares the two).
 */
final class ConfigReference {
    private ConfigReference() {
    }

    /** Title to ConfigDef of each service; the shared keys first. */
    static Map<String, ConfigDef> definitions() {
        Map<String, ConfigDef> defs = new LinkedHashMap<>();
        defs.put("Shared by every service", RealmExportConfig.baseConfigDef());
        defs.put("producer", ExportProducerConfig.CONFIG);
        defs.put("shard-worker", ShardWorkerConfig.CONFIG);
        defs.put("assembler", ExportAssemblerConfig.configDef());
        return defs;
    }

    static String markdown() {
        Set<String> shared = RealmExportConfig.baseConfigDef().names();
        Map<String, String> variables = Settings.ENVIRONMENT.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getValue, Map.Entry::getKey));
        StringBuilder md = new StringBuilder();
        definitions().forEach((title, def) -> {
            boolean base = title.startsWith("Shared");
            md.append("\n#### ").append(base ? title : "`" + title + "`").append("\n\n");
            md.append(base ? "| key | env | type | default | description |\n|---|---|---|---|---|\n"
                    : "| key | type | default | description |\n|---|---|---|---|\n");
            for (ConfigDef.ConfigKey key : def.configKeys().values()) {
                if (!base && shared.contains(key.name)) {
                    continue;
                }
                md.append("| `").append(key.name).append("` | ");
                if (base) {
                    String variable = variables.get(key.name);
                    md.append(variable == null ? "" : "`" + variable + "`").append(" | ");
                }
                md.append(key.type.name().toLowerCase()).append(" | ")
                        .append(defaultValue(key)).append(" | ")
                        .append(escape(key.documentation)).append(" |\n");
            }
        });
        return md.toString();
    }

    /** Markdown table cell text: '|' would end the cell, '<x>' would vanish as an HTML tag. */
    private static String escape(String text) {
        return text.replace("|", "\\|").replace("<", "\\<").replace(">", "\\>");
    }

    private static String defaultValue(ConfigDef.ConfigKey key) {
        if (!key.hasDefault()) {
            return "(required)";
        }
        if (key.defaultValue == null) {
            return "";
        }
        String text = key.type == ConfigDef.Type.PASSWORD ? "(hidden)" : String.valueOf(key.defaultValue);
        return text.isEmpty() ? "\"\"" : "`" + text + "`";
    }
}
