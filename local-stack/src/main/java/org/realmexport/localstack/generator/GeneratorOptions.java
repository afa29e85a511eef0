package org.realmexport.localstack.generator;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What to generate: immutable, each {@code with...} returns a copy. Invalid values are refused at
 * once with a {@link GeneratorException}.
 *
 * <p>Defaults and sizing rules (N = messages):
 * <ul>
 *   <li>messages: {@value #DEFAULT_MESSAGES} in the primary realm; the secondary realm gets
 *       max(1, N/10);</li>
 *   <li>users (humans; each realm also gets 3 bots and 1 mirror dummy): primary
 *       clamp(N/1000, 50, 1000), secondary clamp(N/10/1000, 20, 1000); with {@link #withUsers(int)}
 *       the primary gets exactly that many and the secondary max(6, users/5);</li>
 *   <li>streams: clamp(users/10, 8, 100) for the primary, clamp(users/10, 6, 100) for the secondary;
 *       with {@link #withStreams(int)} the primary gets exactly that many, the secondary
 *       max(6, streams/3);</li>
 *   <li>attachments: clamp(messages/250, 12, 4000) per realm;</li>
 *   <li>seed {@value #DEFAULT_SEED}; realms {@code zulip} and {@code lear}; no upload files unless
 *       {@link #withUploadsDir(Path)} names Zulip's LOCAL_UPLOADS_DIR;</li>
 *   <li>a progress bar when a console is attached, otherwise a log line every few seconds.</li>
 * </ul>
 * Same seed and options give a byte-identical database and upload tree.
 */
public final class GeneratorOptions {
    public static final int DEFAULT_MESSAGES = 10_000;
    public static final long DEFAULT_SEED = 1L;
    public static final String DEFAULT_PRIMARY_STRING_ID = "zulip";
    public static final String DEFAULT_SECONDARY_STRING_ID = "lear";
    /** Fewest humans / streams a realm can have and still show every case the generator covers. */
    public static final int MIN_USERS = 6;
    public static final int MIN_STREAMS = 6;
    /** The largest realm this generator is sized for (ids stay within Zulip's integer columns). */
    public static final int MAX_MESSAGES = 100_000_000;
    public static final int MAX_USERS = 100_000;
    public static final int MAX_STREAMS = 10_000;

    private static final Pattern STRING_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

    private final int messages;
    private final int users;
    private final int streams;
    private final long seed;
    private final Path uploadsDir;
    private final String primaryStringId;
    private final String secondaryStringId;
    private final Boolean progressBar;

    private GeneratorOptions(int messages, int users, int streams, long seed, Path uploadsDir,
                             String primaryStringId, String secondaryStringId, Boolean progressBar) {
        this.messages = messages;
        this.users = users;
        this.streams = streams;
        this.seed = seed;
        this.uploadsDir = uploadsDir;
        this.primaryStringId = primaryStringId;
        this.secondaryStringId = secondaryStringId;
        this.progressBar = progressBar;
    }

    public static GeneratorOptions defaults() {
        return new GeneratorOptions(DEFAULT_MESSAGES, 0, 0, DEFAULT_SEED, null,
                DEFAULT_PRIMARY_STRING_ID, DEFAULT_SECONDARY_STRING_ID, null);
    }

    /** Messages of the primary realm (the secondary gets about a tenth). */
    public GeneratorOptions withMessages(int messages) {
        requireRange("messages", messages, 1, MAX_MESSAGES);
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    /** Human users of the primary realm, instead of the sizing rule. */
    public GeneratorOptions withUsers(int users) {
        requireRange("users", users, MIN_USERS, MAX_USERS);
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    /** Streams of the primary realm, instead of the sizing rule. */
    public GeneratorOptions withStreams(int streams) {
        requireRange("streams", streams, MIN_STREAMS, MAX_STREAMS);
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    public GeneratorOptions withSeed(long seed) {
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    /** Zulip's LOCAL_UPLOADS_DIR: attachments go to {@code files/}, avatars, emoji and icons to {@code avatars/}. */
    public GeneratorOptions withUploadsDir(Path uploadsDir) {
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    /** The {@code string_id}s of the two realms (lower-case letters, digits and dashes, distinct). */
    public GeneratorOptions withRealmStringIds(String primary, String secondary) {
        for (String s : new String[] {primary, secondary}) {
            if (s == null || !STRING_ID.matcher(s).matches() || s.equals("zulipinternal")) {
                throw new GeneratorException("invalid realm string_id '" + s
                        + "': use 1-40 lower-case letters, digits or dashes, not 'zulipinternal'");
            }
        }
        if (primary.equals(secondary)) {
            throw new GeneratorException("the two realms need different string_ids (both are '" + primary + "')");
        }
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primary, secondary, progressBar);
    }

    /** Force the console progress bar on or off (default: on when {@code System.console()} exists). */
    public GeneratorOptions withProgressBar(boolean progressBar) {
        return new GeneratorOptions(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    public int messages() {
        return messages;
    }

    public long seed() {
        return seed;
    }

    public Optional<Path> uploadsDir() {
        return Optional.ofNullable(uploadsDir);
    }

    public String primaryStringId() {
        return primaryStringId;
    }

    public String secondaryStringId() {
        return secondaryStringId;
    }

    public int secondaryMessages() {
        return Math.max(1, messages / 10);
    }

    /** Humans of the primary (true) or secondary realm, after the sizing rules. */
    public int users(boolean primary) {
        if (users > 0) {
            return primary ? users : Math.max(MIN_USERS, users / 5);
        }
        return primary ? clamp(messages / 1000, 50, 1000) : clamp(secondaryMessages() / 1000, 20, 1000);
    }

    /** Streams of the primary (true) or secondary realm, after the sizing rules. */
    public int streams(boolean primary) {
        if (streams > 0) {
            return primary ? streams : Math.max(MIN_STREAMS, streams / 3);
        }
        return clamp(users(primary) / 10, primary ? 8 : 6, 100);
    }

    int attachments(boolean primary) {
        return clamp((primary ? messages : secondaryMessages()) / 250, 12, 4000);
    }

    boolean progressBar() {
        return progressBar != null ? progressBar : System.console() != null;
    }

    private static int clamp(int value, int min, int max) {
        return Math.max(min, Math.min(max, value));
    }

    private static void requireRange(String what, int value, int min, int max) {
        if (value < min || value > max) {
            throw new GeneratorException(what + " must be between " + min + " and " + max + ", got " + value);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GeneratorOptions other
                && messages == other.messages && users == other.users && streams == other.streams
                && seed == other.seed && Objects.equals(uploadsDir, other.uploadsDir)
                && primaryStringId.equals(other.primaryStringId) && secondaryStringId.equals(other.secondaryStringId)
                && Objects.equals(progressBar, other.progressBar);
    }

    @Override
    public int hashCode() {
        return Objects.hash(messages, users, streams, seed, uploadsDir, primaryStringId, secondaryStringId, progressBar);
    }

    @Override
    public String toString() {
        return "GeneratorOptions{messages=" + messages + ", users=" + users(true) + "/" + users(false)
                + ", streams=" + streams(true) + "/" + streams(false) + ", seed=" + seed
                + ", uploadsDir=" + uploadsDir + ", realms=" + primaryStringId + "/" + secondaryStringId + "}";
    }
}
