package org.realmexport.cli;

import org.realmexport.common.config.RealmExportConfig;
import picocli.CommandLine.Option;

import java.util.Map;

/** Where Zulip's data is: its PostgreSQL database and its local uploads directory. */
public class DatabaseOptions implements Settings.Source {
    @Option(names = {"--jdbc-url", "--jdbc"}, paramLabel = "URL",
            description = "JDBC URL of Zulip's PostgreSQL; may name the schema: ...?currentSchema=zulip (env JDBC_URL).")
    String jdbcUrl;

    @Option(names = "--uploads-dir", paramLabel = "DIR",
            description = "Zulip's LOCAL_UPLOADS_DIR, for local-storage uploads (env UPLOADS_DIR).")
    String uploadsDir;

    @Override
    public void putExplicit(Map<String, Object> settings) {
        Settings.putIfSet(settings, RealmExportConfig.JDBC_URL, jdbcUrl);
        Settings.putIfSet(settings, RealmExportConfig.UPLOADS_DIR, uploadsDir);
    }
}
