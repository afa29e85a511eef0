package org.realmexport.common.storage.s3;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmexport.common.archive.PackedFile;
import org.realmexport.common.archive.TarGzPart;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.storage.ExportStore;
import org.realmexport.common.storage.ExportStores;
import org.realmexport.common.storage.StoredFile;
import org.realmexport.localstack.EmbeddedStack;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The S3 backend of the export store against the embedded S3 server: the same files and the same
 * tarball bytes as the local backend, whole-or-nothing files, multipart assembly with server-side
 * copies, clear failures, and retries through injected faults.
 */
class S3ExportStoreTest {
    private static final String TOP = "zulip-export-s3test";
    private static EmbeddedStack stack;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        stack = EmbeddedStack.builder().kafka(false).postgres(false).uploads(false).start();
    }

    @AfterAll
    static void stop() throws Exception {
        stack.close();
    }

    static RealmExportConfig config(String endpoint, String secret, Map<String, Object> more) {
        Map<String, Object> map = new HashMap<>(Map.of("s3.endpoint", endpoint, "s3.access.key", stack.s3AccessKey(),
                "s3.secret.key", secret, "s3.part.size", 5 * 1024 * 1024));
        map.putAll(more);
        return new RealmExportConfig(RealmExportConfig.baseConfigDef(), map);
    }

    static void createBucket(String bucket) {
        try (S3Client s3 = S3Settings.of(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of())).client()) {
            s3.createBucket(b -> b.bucket(bucket));
        }
    }

    /** Files of every size class: empty, tiny, a few MiB of JSON, incompressible ones over 5 MiB. */
    static Map<String, byte[]> files() {
        Random random = new Random(11);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("analytics.json", new byte[0]);
        files.put("realm.json", "{\"zerver_realm\":[{\"id\":2}]}\n".getBytes());
        StringBuilder json = new StringBuilder("{\"zerver_message\":[");
        for (int i = 0; i < 120_000; i++) {
            json.append("{\"id\":").append(i).append(",\"content\":\"hello ").append(random.nextInt()).append("\"},");
        }
        files.put("messages-000001.json", json.append("{}]}\n").toString().getBytes());
        byte[] video = new byte[6 * 1024 * 1024 + 333];
        random.nextBytes(video);
        files.put("uploads/2/ab/video.mp4", video);
        byte[] small = new byte[70_000];
        random.nextBytes(small);
        files.put("uploads/2/cd/photo.png", small);
        byte[] huge = new byte[11 * 1024 * 1024 + 5];
        random.nextBytes(huge);
        files.put("uploads/2/ef/archive.zip", huge);
        return files;
    }

    /** Writes the files, then assembles the tarball as the finalizer does; returns it. */
    static ExportStore.Assembled export(ExportStore store, Map<String, byte[]> files) throws IOException {
        Map<String, StoredFile.Written> written = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            try (PackedFile file = PackedFile.create(store, f.getKey(), TarGzPart.DEFAULT_LEVEL, true)) {
                byte[] bytes = f.getValue();
                for (int off = 0; off < bytes.length; off += 100_000) {
                    file.stream().write(bytes, off, Math.min(100_000, bytes.length - off));
                }
                written.put(f.getKey(), file.commit());
            }
        }
        SortedMap<String, Long> parts = store.list(TarGzPart.PARTS_DIRECTORY + "/");
        List<ExportStore.Piece> pieces = new ArrayList<>();
        pieces.add(new ExportStore.Inline(TarGzPart.directory(TOP, 0)));
        for (String name : new java.util.TreeSet<>(files.keySet())) {
            pieces.add(new ExportStore.Inline(TarGzPart.header(TOP + "/" + name, written.get(name).size(), 0)));
            pieces.add(new ExportStore.Stored(TarGzPart.partName(name), parts.get(TarGzPart.partName(name))));
        }
        pieces.add(new ExportStore.Inline(TarGzPart.endOfArchive()));
        return store.assemble(pieces);
    }

    @Test
    void anExportToS3HasTheSameFilesAndTarballAsOnDisk() throws Exception {
        createBucket("same");
        Map<String, byte[]> files = files();
        ExportStore.Assembled local;
        ExportStore.Assembled s3;
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of()))) {
            local = export(stores.open(tmp.resolve(TOP).toUri()), files);
            ExportStore store = stores.open(URI.create("s3://same/some/prefix/" + TOP));
            assertThat(store.keepsPlainFiles()).isFalse();
            s3 = export(store, files);
            // every file reads back whole, out of its part
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                try (InputStream in = PackedFile.open(store, f.getKey(), f.getValue().length)) {
                    assertThat(in.readAllBytes()).as(f.getKey()).isEqualTo(f.getValue());
                }
            }
            // only parts under the export's prefix; no upload left open
            assertThat(store.list("").keySet()).allMatch(k -> k.startsWith(".parts/"));
        }
        assertThat(s3.location()).isEqualTo(URI.create("s3://same/some/prefix/" + TOP + ".tar.gz"));
        assertThat(ExportStores.display(s3.location())).isEqualTo("s3://same/some/prefix/" + TOP + ".tar.gz");
        assertThat(s3.size()).isEqualTo(local.size());
        assertThat(s3.sha256()).isEqualTo(local.sha256());
        assertThat(sha256OfObject("same", "some/prefix/" + TOP + ".tar.gz")).isEqualTo(local.sha256());
    }

    @Test
    void anUncommittedFileLeavesNothingAndAMissingPartFailsTheAssembly() throws Exception {
        createBucket("whole");
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of()))) {
            ExportStore store = stores.open(URI.create("s3://whole/" + TOP));
            try (StoredFile file = store.create("big.bin", true)) {
                file.stream().write(new byte[7 * 1024 * 1024]); // a part uploaded already
            }
            assertThat(store.list("")).isEmpty();
            assertThatThrownBy(() -> store.open("big.bin")).isInstanceOf(NoSuchFileException.class);
            assertThatThrownBy(() -> store.assemble(List.of(new ExportStore.Inline(TarGzPart.endOfArchive()),
                    new ExportStore.Stored(".parts/none.tgz", 10)))).isInstanceOf(NoSuchFileException.class);
            assertThat(store.list("")).isEmpty();
        }
    }

    @Test
    void aMissingBucketOrAWrongSecretFailWithAClearReasonWithoutTheSecret() throws Exception {
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of()))) {
            ExportStore store = stores.open(URI.create("s3://no-such-bucket/x/" + TOP));
            assertThatThrownBy(() -> {
                try (StoredFile file = store.create("realm.json", true)) {
                    file.stream().write('{');
                    file.commit();
                }
            }).isInstanceOf(IOException.class).hasMessageContaining("bucket 'no-such-bucket' does not exist");
        }
        createBucket("guarded");
        String wrong = "wrong-secret-0123456789";
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), wrong, Map.of()))) {
            ExportStore store = stores.open(URI.create("s3://guarded/" + TOP));
            assertThatThrownBy(() -> {
                try (StoredFile file = store.create("realm.json", true)) {
                    file.stream().write('{');
                    file.commit();
                }
            }).isInstanceOf(IOException.class).hasMessageContaining("access denied")
                    .satisfies(e -> assertThat(stackTrace(e)).doesNotContain(wrong));
        }
    }

    @Test
    void transientFailuresAndDroppedConnectionsAreRetried() throws Exception {
        createBucket("flaky");
        Map<String, byte[]> files = files();
        ExportStore.Assembled local;
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of()))) {
            local = export(stores.open(tmp.resolve(TOP).toUri()), files);
        }
        try (FaultyS3Proxy proxy = new FaultyS3Proxy(stack.s3Endpoint(), 3);
             ExportStores stores = new ExportStores(config(proxy.endpoint(), stack.s3SecretKey(),
                     Map.of("s3.max.attempts", 6)))) {
            ExportStore.Assembled s3 = export(stores.open(URI.create("s3://flaky/" + TOP)), files);
            assertThat(proxy.failed()).isPositive();
            assertThat(proxy.dropped()).isPositive();
            assertThat(s3.sha256()).isEqualTo(local.sha256());
        }
    }

    private static String sha256OfObject(String bucket, String key) throws Exception {
        try (ExportStores stores = new ExportStores(config(stack.s3Endpoint(), stack.s3SecretKey(), Map.of()))) {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            // read through the store's own reader of the bucket: open the tarball as a "file" of the prefix
            ExportStore store = stores.open(URI.create("s3://" + bucket + "/" + key.substring(0, key.lastIndexOf('/'))));
            try (InputStream in = store.open(key.substring(key.lastIndexOf('/') + 1))) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                }
            }
            return java.util.HexFormat.of().formatHex(sha.digest());
        }
    }

    private static String stackTrace(Throwable e) {
        java.io.StringWriter w = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(w));
        return w.toString();
    }
}
