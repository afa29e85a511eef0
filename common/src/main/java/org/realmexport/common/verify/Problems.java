package org.realmexport.common.verify;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The problems found so far, one line each ({@code <file>: <what is wrong>}). A corrupt file can
 * break the same rule on every row, so each (file, rule) pair reports its first few lines and
 * then one line that counts the rest: the report stays readable for a million bad rows.
 */
final class Problems {
    static final int PER_RULE = 5;

    private final List<String> lines = new ArrayList<>();
    private final Map<String, Integer> perRule = new HashMap<>();

    /** A problem that is its own rule. */
    void add(String file, String message) {
        lines.add(file + ": " + message);
    }

    /** A problem that may repeat per row: {@code rule} groups the repeats. */
    void add(String file, String rule, String message) {
        int seen = perRule.merge(file + "\u0000" + rule, 1, Integer::sum);
        if (seen <= PER_RULE) {
            lines.add(file + ": " + message);
        }
    }

    boolean isEmpty() {
        return lines.isEmpty() && perRule.isEmpty();
    }

    List<String> lines() {
        List<String> out = new ArrayList<>(lines);
        perRule.forEach((key, count) -> {
            if (count > PER_RULE) {
                int cut = key.indexOf('\u0000');
                out.add(key.substring(0, cut) + ": " + (count - PER_RULE) + " more of the same kind ("
                        + key.substring(cut + 1) + ")");
            }
        });
        return out;
    }
}
