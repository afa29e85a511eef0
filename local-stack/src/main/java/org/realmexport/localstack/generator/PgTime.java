package org.realmexport.localstack.generator;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * Times as microseconds since the epoch (what a timestamptz stores), and their PostgreSQL text
 * form written straight into a byte buffer (the message and usermessage passes format millions).
 * The generator never reads the wall clock: every time is an offset from a fixed base.
 */
final class PgTime {
    static final long MICROS_PER_SECOND = 1_000_000L;
    static final long MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND;
    static final long MICROS_PER_HOUR = 60 * MICROS_PER_MINUTE;
    static final long MICROS_PER_DAY = 24 * MICROS_PER_HOUR;

    private PgTime() {
    }

    static long micros(int year, int month, int day) {
        return ZonedDateTime.of(year, month, day, 0, 0, 0, 0, ZoneOffset.UTC).toEpochSecond() * MICROS_PER_SECOND;
    }

    static String text(long epochMicros) {
        byte[] b = new byte[32];
        int n = format(epochMicros, b, 0);
        return new String(b, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
    }

    static Instant instant(long epochMicros) {
        return Instant.ofEpochSecond(Math.floorDiv(epochMicros, MICROS_PER_SECOND),
                Math.floorMod(epochMicros, MICROS_PER_SECOND) * 1000L);
    }

    /** Writes "YYYY-MM-DD HH:MM:SS[.ffffff]+00" at {@code pos}; returns the new position. */
    static int format(long epochMicros, byte[] b, int pos) {
        long days = Math.floorDiv(epochMicros, MICROS_PER_DAY);
        long microsOfDay = Math.floorMod(epochMicros, MICROS_PER_DAY);
        // civil_from_days (H. Hinnant), valid for the proleptic Gregorian calendar
        long z = days + 719468;
        long era = Math.floorDiv(z, 146097);
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long year = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long day = doy - (153 * mp + 2) / 5 + 1;
        long month = mp < 10 ? mp + 3 : mp - 9;
        if (month <= 2) {
            year++;
        }
        pos = digits(b, pos, year, 4);
        b[pos++] = '-';
        pos = digits(b, pos, month, 2);
        b[pos++] = '-';
        pos = digits(b, pos, day, 2);
        b[pos++] = ' ';
        long seconds = microsOfDay / MICROS_PER_SECOND;
        long fraction = microsOfDay % MICROS_PER_SECOND;
        pos = digits(b, pos, seconds / 3600, 2);
        b[pos++] = ':';
        pos = digits(b, pos, (seconds / 60) % 60, 2);
        b[pos++] = ':';
        pos = digits(b, pos, seconds % 60, 2);
        if (fraction != 0) {
            b[pos++] = '.';
            pos = digits(b, pos, fraction, 6);
        }
        b[pos++] = '+';
        b[pos++] = '0';
        b[pos++] = '0';
        return pos;
    }

    private static int digits(byte[] b, int pos, long value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            b[pos + i] = (byte) ('0' + (value % 10));
            value /= 10;
        }
        return pos + width;
    }
}
