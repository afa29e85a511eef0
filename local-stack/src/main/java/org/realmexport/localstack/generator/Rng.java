package org.realmexport.localstack.generator;

/**
 * SplitMix64: a tiny, fast, fully specified pseudo-random generator. Every random choice of the
 * generator comes from one of these, seeded from the user's seed plus a "stream" constant and an
 * index (e.g. the message's position), so any message can be re-planned on its own in a later pass
 * and the same seed always gives the same database, on any JVM.
 */
final class Rng {
    private static final long GAMMA = 0x9E3779B97F4A7C15L;
    private long state;

    Rng(long seed) {
        this.state = seed;
    }

    /** A generator for item {@code index} of the random stream {@code stream} under {@code seed}. */
    static Rng of(long seed, long stream, long index) {
        return new Rng(seedFor(seed, stream, index));
    }

    static long seedFor(long seed, long stream, long index) {
        return mix(seed ^ mix(stream * GAMMA + mix(index + GAMMA)));
    }

    /** Re-seeds this instance in place (the hot loops reuse one instance per pass). */
    Rng reseed(long seed, long stream, long index) {
        this.state = seedFor(seed, stream, index);
        return this;
    }

    long nextLong() {
        return mix(state += GAMMA);
    }

    /** Uniform in [0, bound), bound > 0. */
    int nextInt(int bound) {
        return (int) (((nextLong() >>> 32) * bound) >>> 32);
    }

    /** Uniform in [from, to] inclusive. */
    int between(int from, int to) {
        return from + nextInt(to - from + 1);
    }

    /** Uniform in [0, bound), bound > 0. */
    long nextLong(long bound) {
        return Math.floorMod(nextLong(), bound);
    }

    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    boolean chance(double probability) {
        return nextDouble() < probability;
    }

    <T> T pick(T[] items) {
        return items[nextInt(items.length)];
    }

    /** Random alphanumeric string (Zulip's api keys and secrets use this alphabet). */
    String alphanumeric(int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = ALNUM.charAt(nextInt(ALNUM.length()));
        }
        return new String(out);
    }

    /** Like Python's secrets.token_urlsafe: URL-safe base64 alphabet. */
    String urlSafe(int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = URLSAFE.charAt(nextInt(64));
        }
        return new String(out);
    }

    String hex(int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = HEX.charAt(nextInt(16));
        }
        return new String(out);
    }

    /** A version-4 UUID in canonical text form. */
    String uuid() {
        long hi = (nextLong() & ~0xF000L) | 0x4000L;
        long lo = (nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new java.util.UUID(hi, lo).toString();
    }

    void fill(byte[] bytes, int from, int to) {
        int i = from;
        while (i < to) {
            long v = nextLong();
            for (int k = 0; k < 8 && i < to; k++, i++) {
                bytes[i] = (byte) v;
                v >>>= 8;
            }
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final String URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static final String HEX = "0123456789abcdef";
}
