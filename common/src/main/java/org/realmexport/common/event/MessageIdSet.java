package org.realmexport.common.event;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Base64;
import java.util.BitSet;

/**
 * The message ids a shard exported, compact enough for a task result: a bitmap over
 * {@code [first, last]} when the ids are dense (the usual case: 1000 messages in a few kilobits),
 * else the gaps between them as varints, whichever is shorter; base64, with a one-letter tag.
 * The assembler takes them instead of reading the message files back.
 */
public final class MessageIdSet {
    private MessageIdSet() {
    }

    /** @param sortedIds ascending, distinct, not empty */
    public static String encode(long[] sortedIds) {
        long first = sortedIds[0];
        long span = sortedIds[sortedIds.length - 1] - first + 1;
        ByteArrayOutputStream gaps = new ByteArrayOutputStream(sortedIds.length * 2);
        for (int i = 1; i < sortedIds.length; i++) {
            long gap = sortedIds[i] - sortedIds[i - 1];
            if (gap <= 0) {
                throw new IllegalArgumentException("ids not ascending and distinct at " + sortedIds[i]);
            }
            for (; gap >= 0x80; gap >>>= 7) {
                gaps.write((int) (gap & 0x7f) | 0x80);
            }
            gaps.write((int) gap);
        }
        if (span <= Integer.MAX_VALUE && span / 8 < gaps.size()) {
            BitSet bits = new BitSet((int) span);
            for (long id : sortedIds) {
                bits.set((int) (id - first));
            }
            return "b" + Base64.getEncoder().encodeToString(bits.toByteArray());
        }
        return "d" + Base64.getEncoder().encodeToString(gaps.toByteArray());
    }

    /**
     * @param first the first id (the result's {@code messageIds[0]})
     * @throws IllegalArgumentException when the text is not an encoded set
     */
    public static long[] decode(long first, String encoded) {
        if (encoded == null || encoded.isEmpty()) {
            throw new IllegalArgumentException("no message id set");
        }
        byte[] bytes = Base64.getDecoder().decode(encoded.substring(1));
        switch (encoded.charAt(0)) {
            case 'b' -> {
                BitSet bits = BitSet.valueOf(bytes);
                return bits.stream().mapToLong(i -> first + i).toArray();
            }
            case 'd' -> {
                long[] ids = new long[bytes.length + 1];
                int n = 0;
                ids[n++] = first;
                long gap = 0;
                int shift = 0;
                for (byte b : bytes) {
                    gap |= (long) (b & 0x7f) << shift;
                    if ((b & 0x80) != 0) {
                        shift += 7;
                        continue;
                    }
                    ids[n] = ids[n - 1] + gap;
                    n++;
                    gap = 0;
                    shift = 0;
                }
                if (shift != 0) {
                    throw new IllegalArgumentException("truncated message id set");
                }
                return Arrays.copyOf(ids, n);
            }
            default -> throw new IllegalArgumentException("unknown message id set encoding '" + encoded.charAt(0) + "'");
        }
    }
}
