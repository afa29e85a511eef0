package org.realmexport.localstack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A stopped PostgreSQL cluster with Zulip's role, database and schema, kept in
 * {@code java.io.tmpdir/realm-export-pg-template/<key>} and copied into each new stack.
 *
 * <p>initdb writes and fsyncs some 40 MB and is most of PostgreSQL's start-up time; every test
 * class of every module starts a stack. The template is built once per machine (per PostgreSQL
 * binaries and template version, which make up the key) and shared by all JVMs, like zonky's own
 * binaries cache beside it. It is built in a private directory and renamed into place, so
 * concurrent JVMs never see half a template; the loser of a race just discards its own.
 */
final class PostgresTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresTemplate.class);
    /** Bump when what the template holds changes (roles, databases, schemas). */
    private static final String TEMPLATE_VERSION = "1";
    /** zonky's binaries for this platform; null elsewhere (then no template, plain initdb). */
    private static final String BINARIES_RESOURCE = "postgres-linux-x86_64.txz";
    /** Files of a stopped cluster that must not travel into a copy. */
    private static final Set<String> SKIPPED = Set.of("epg-lock", "postmaster.pid", "postmaster.opts");
    private static final Duration ABANDONED_AFTER = Duration.ofHours(1);

    private PostgresTemplate() {
    }

    /**
     * The template directory, built first if missing; null when no template can be had here (the
     * caller runs initdb instead).
     */
    static synchronized Path ready() {
        String key = key();
        if (key == null) {
            return null;
        }
        Path parent = Paths.get(System.getProperty("java.io.tmpdir"), "realm-export-pg-template");
        Path template = parent.resolve(key);
        if (Files.isDirectory(template)) {
            return template;
        }
        try {
            Files.createDirectories(parent);
            removeAbandonedBuilds(parent);
            Path building = Files.createTempDirectory(parent, "building-");
            try {
                long started = System.nanoTime();
                build(building.resolve("data"));
                try {
                    Files.move(building, template, StandardCopyOption.ATOMIC_MOVE);
                    LOG.info("Built the PostgreSQL template {} in {} ms (once per machine)", template,
                            Duration.ofNanos(System.nanoTime() - started).toMillis());
                } catch (IOException e) {
                    if (!Files.isDirectory(template)) {
                        throw e;
                    }
                    // another JVM finished first: use its template
                }
            } finally {
                Directories.deleteTree(building);
            }
            return Files.isDirectory(template) ? template : null;
        } catch (Exception e) {
            LOG.warn("Could not build a PostgreSQL template ({}); running initdb for each stack instead", e.toString());
            return null;
        }
    }

    /** Copies the template's cluster into the new directory {@code dataDir}. */
    static void copy(Path template, Path dataDir) throws IOException {
        Path source = template.resolve("data");
        if (!Files.isDirectory(source)) {
            throw new NoSuchFileException(source.toString());
        }
        Directories.copyTree(source, dataDir, SKIPPED);
    }

    /** Removes a template that failed to start, so that the next stack builds a fresh one. */
    static synchronized void discard(Path template) {
        try {
            Path doomed = template.resolveSibling("discarded-" + System.nanoTime());
            Files.move(template, doomed, StandardCopyOption.ATOMIC_MOVE);
            Directories.deleteTree(doomed);
        } catch (IOException e) {
            LOG.warn("Could not remove the PostgreSQL template {}: {}", template, e.toString());
        }
    }

    private static void build(Path dataDir) throws IOException, SQLException {
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setPort(LoopbackPorts.free())
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setRegisterShutdownHook(false)
                .setPGStartupWait(Duration.ofSeconds(60))
                .start();
        try {
            EmbeddedDatabase.createZulipDatabase(postgres.getPort());
        } finally {
            postgres.close(); // a clean (fast) shutdown: the copies start without recovery
        }
    }

    /**
     * Template version, binaries jar and binaries size: a new PostgreSQL build or a change of
     * what the template holds gets a new template.
     */
    private static String key() {
        URL binaries = EmbeddedPostgres.class.getClassLoader().getResource(BINARIES_RESOURCE);
        if (binaries == null) {
            return null;
        }
        try {
            URLConnection connection = binaries.openConnection();
            connection.setUseCaches(false);
            long size = connection.getContentLengthLong();
            String id = TEMPLATE_VERSION + "|" + binaries + "|" + size;
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return "pg-" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (IOException | NoSuchAlgorithmException e) {
            return null;
        }
    }

    /** Builds of JVMs that died half-way. */
    private static void removeAbandonedBuilds(Path parent) throws IOException {
        Instant cutoff = Instant.now().minus(ABANDONED_AFTER);
        try (Stream<Path> children = Files.list(parent)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                String name = child.getFileName().toString();
                if ((name.startsWith("building-") || name.startsWith("discarded-"))
                        && Files.getLastModifiedTime(child).compareTo(FileTime.from(cutoff)) < 0) {
                    Directories.deleteTree(child);
                }
            }
        }
    }
}
