package org.realmexport.cli;

import org.realmexport.common.config.RealmExportConfig;
import picocli.CommandLine.Option;

import java.util.Map;

/** An S3-compatible object store, for Zulip's S3 uploads. */
public class S3Options implements Settings.Source {
    @Option(names = "--s3-endpoint", paramLabel = "URL", description = "S3 endpoint (env S3_ENDPOINT).")
    String endpoint;

    @Option(names = "--s3-access-key", paramLabel = "KEY", description = "S3 access key (env S3_ACCESS_KEY).")
    String accessKey;

    @Option(names = "--s3-secret-key", paramLabel = "SECRET",
            description = "S3 secret key (env S3_SECRET_KEY; prefer the environment: options show in ps).")
    String secretKey;

    @Override
    public void putExplicit(Map<String, Object> settings) {
        Settings.putIfSet(settings, RealmExportConfig.S3_ENDPOINT, endpoint);
        Settings.putIfSet(settings, RealmExportConfig.S3_ACCESS_KEY, accessKey);
        Settings.putIfSet(settings, RealmExportConfig.S3_SECRET_KEY, secretKey);
    }
}
