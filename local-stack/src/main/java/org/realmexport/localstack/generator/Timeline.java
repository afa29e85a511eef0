package org.realmexport.localstack.generator;

/**
 * Where each message falls: the two realms' messages share one id sequence and one clock, as on a
 * real server. Global message {@code g} (0-based, id = base + g + 1) belongs to the secondary realm
 * when the running share {@code g * m2 / total} steps up, which spreads the secondary realm's
 * messages evenly between the primary's. Every function is pure, so a message can be placed
 * without looking at any other.
 */
final class Timeline {
    /** First and last instant of message traffic; realms and users are created before. */
    static final long MESSAGES_START = PgTime.micros(2023, 2, 1);
    static final long MESSAGES_END = PgTime.micros(2024, 12, 31);

    private final long seed;
    private final long total;
    private final long secondaryCount;
    private final long step;

    Timeline(long seed, int primaryCount, int secondaryCount) {
        this.seed = seed;
        this.total = (long) primaryCount + secondaryCount;
        this.secondaryCount = secondaryCount;
        this.step = Math.max(1, (MESSAGES_END - MESSAGES_START) / total);
    }

    long total() {
        return total;
    }

    /** Secondary-realm messages among the first {@code g}. */
    private long secondaryBefore(long g) {
        return g * secondaryCount / total;
    }

    boolean secondary(long g) {
        return secondaryBefore(g + 1) > secondaryBefore(g);
    }

    /** Position of message {@code g} among its own realm's messages. */
    int local(long g) {
        long c2 = secondaryBefore(g);
        return (int) (secondary(g) ? c2 : g - c2);
    }

    /** The global index of a realm's {@code local}-th message. */
    long global(boolean secondary, int local) {
        long lo = 0;
        long hi = total - 1;
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            long upTo = countUpTo(secondary, mid + 1);
            if (upTo >= local + 1) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    private long countUpTo(boolean secondary, long x) {
        long c2 = secondaryBefore(x);
        return secondary ? c2 : x - c2;
    }

    /** When message {@code g} was sent (non-decreasing in g). */
    long dateSent(long g) {
        return MESSAGES_START + g * step + Rng.of(seed, Streams.DATE, g).nextLong(step);
    }
}
