package org.realmexport.localstack.generator;

import java.util.Map;
import java.util.TreeMap;

/**
 * Hands out row ids per table, continuing after what the database already holds (0 on a fresh
 * schema), in the order the generator builds rows, so the same input always gives the same ids.
 */
final class Ids {
    private final Map<String, Long> last = new TreeMap<>();

    Ids(Map<String, Long> maxima) {
        last.putAll(maxima);
    }

    int next(String table) {
        return Math.toIntExact(nextLong(table));
    }

    long nextLong(String table) {
        return last.merge(table, 1L, Long::sum);
    }

    /** The last id handed out (or already in the database). */
    long last(String table) {
        return last.getOrDefault(table, 0L);
    }

    /** Records that ids up to {@code lastId} were handed out by a caller counting on its own. */
    void advanceTo(String table, long lastId) {
        last.merge(table, lastId, Math::max);
    }

    /** Reserves {@code count} consecutive ids; returns the id before the first. */
    long reserve(String table, long count) {
        long base = last.getOrDefault(table, 0L);
        last.put(table, base + count);
        return base;
    }
}
