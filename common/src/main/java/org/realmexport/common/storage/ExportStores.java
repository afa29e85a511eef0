package org.realmexport.common.storage;

import org.realmexport.common.ExportId;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.storage.local.LocalExportStore;
import org.realmexport.common.storage.s3.S3ExportStore;
import org.realmexport.common.storage.s3.S3Settings;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.Closeable;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The one place that decides where an export is kept: a local directory ({@code file:} URI, or a
 * plain path) or an S3 prefix ({@code s3://bucket/prefix}). Services make one and open a store per
 * export; it holds the S3 client (made on first use, closed with it).
 */
public final class ExportStores implements Closeable {
    public static final String S3_SCHEME = "s3";
    public static final String FILE_SCHEME = "file";

    private final RealmExportConfig config;
    private S3Client s3;

    public ExportStores(RealmExportConfig config) {
        this.config = config;
    }

    /**
     * Where exports go, as a request names it: {@code s3://bucket/prefix} as it is, anything else a
     * local directory made absolute on this host ({@code file:///...}).
     *
     * @throws IllegalArgumentException when it is blank or not a usable path or S3 location
     */
    public static URI location(String output) {
        if (output == null || output.isBlank()) {
            throw new IllegalArgumentException("no output location");
        }
        if (output.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in the output location");
        }
        if (output.regionMatches(true, 0, "s3://", 0, 5)) {
            return s3Location(output);
        }
        if (output.regionMatches(true, 0, "file:", 0, 5)) {
            try {
                return canonicalFile(Path.of(new URI(output)));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw new IllegalArgumentException("not a file URI: " + output + " (" + e.getMessage() + ")");
            }
        }
        if (output.contains("://")) {
            throw new IllegalArgumentException("unsupported output location '" + output
                    + "': give a local directory or s3://bucket/prefix");
        }
        try {
            return canonicalFile(Path.of(output));
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a usable path: " + e.getMessage());
        }
    }

    /** The export's directory under an output location: {@code <output>/zulip-export-<id>}. */
    public static URI exportDirectory(URI output, String exportId) {
        String name = ExportId.directoryName(exportId);
        String text = output.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return text.endsWith("/" + name) ? URI.create(text) : URI.create(text + "/" + name);
    }

    /** Whether a location (URI or plain path) is on S3. */
    public static boolean isS3(URI location) {
        return location != null && S3_SCHEME.equalsIgnoreCase(location.getScheme());
    }

    /** A location as operators read it: the local path, or the URI itself. */
    public static String display(URI location) {
        if (location == null) {
            return null;
        }
        return isS3(location) ? location.toString() : localPath(location).toString();
    }

    /** The local path of a {@code file:} URI, or of a scheme-less one (a plain path of an older record). */
    public static Path localPath(URI location) {
        if (location.getScheme() == null) {
            return Path.of(location.getPath()).toAbsolutePath().normalize();
        }
        if (!FILE_SCHEME.equalsIgnoreCase(location.getScheme())) {
            throw new IllegalArgumentException("not a local location: " + location);
        }
        return Path.of(location).toAbsolutePath().normalize();
    }

    /** The store of the export directory {@code exportDirectory} (see {@link #exportDirectory}). */
    public ExportStore open(URI exportDirectory) {
        if (isS3(exportDirectory)) {
            return new S3ExportStore(s3Client(), exportDirectory, S3Settings.of(config));
        }
        return new LocalExportStore(localPath(exportDirectory));
    }

    private synchronized S3Client s3Client() {
        if (s3 == null) {
            s3 = S3Settings.of(config).client();
        }
        return s3;
    }

    @Override
    public synchronized void close() {
        if (s3 != null) {
            s3.close();
            s3 = null;
        }
    }

    private static URI canonicalFile(Path path) {
        String uri = path.toAbsolutePath().normalize().toUri().toString();
        return URI.create(uri.endsWith("/") && uri.length() > "file:///".length() ? uri.substring(0, uri.length() - 1) : uri);
    }

    private static URI s3Location(String output) {
        URI uri;
        try {
            uri = new URI(output);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not an S3 location: " + output + " (" + e.getMessage() + ")");
        }
        String bucket = uri.getHost() != null ? uri.getHost() : uri.getAuthority();
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("no bucket in " + output + ": give s3://bucket/prefix");
        }
        if (uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null || uri.getPort() != -1) {
            throw new IllegalArgumentException("an S3 location is s3://bucket/prefix, without user, port, query"
                    + " or fragment: " + output);
        }
        String prefix = uri.getPath() == null ? "" : uri.getPath();
        while (prefix.startsWith("/")) {
            prefix = prefix.substring(1);
        }
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (!prefix.isEmpty()) {
            StorePaths.check(prefix);
        }
        return URI.create(S3_SCHEME + "://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix));
    }
}
