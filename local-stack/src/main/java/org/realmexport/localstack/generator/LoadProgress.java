package org.realmexport.localstack.generator;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;

import java.util.concurrent.TimeUnit;

/**
 * Progress of the bulk load: a console progress bar when a terminal is attached, otherwise an INFO
 * line every few seconds. Counts message-pass steps (each message is visited once to write it and
 * once to write its usermessages) and the rows written so far. Reads the clock only for display.
 */
abstract class LoadProgress implements AutoCloseable {
    static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);

    protected final long started = System.nanoTime();
    protected long rows;

    static LoadProgress create(boolean bar, long steps, Logger log) {
        return bar ? new Bar(steps) : new Log(steps, log);
    }

    abstract void phase(String name);

    void rows(long n) {
        rows += n;
    }

    abstract void step(long messages);

    long rowsPerSecond() {
        long nanos = System.nanoTime() - started;
        return nanos <= 0 ? 0 : rows * 1_000_000_000L / nanos;
    }

    @Override
    public abstract void close();

    private static final class Bar extends LoadProgress {
        private final ProgressBar bar;

        Bar(long steps) {
            bar = new ProgressBarBuilder()
                    .setTaskName("Generating")
                    .setInitialMax(steps)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setUpdateIntervalMillis(250)
                    .showSpeed()
                    .build();
        }

        @Override
        void phase(String name) {
            bar.setExtraMessage(name);
        }

        @Override
        void step(long messages) {
            bar.stepBy(messages);
            bar.setExtraMessage(String.format("%,d rows, %,d rows/s", rows, rowsPerSecond()));
        }

        @Override
        public void close() {
            bar.close();
        }
    }

    private static final class Log extends LoadProgress {
        private final long steps;
        private final Logger log;
        private long done;
        private long lastLog = started;
        private String phase = "";

        Log(long steps, Logger log) {
            this.steps = steps;
            this.log = log;
        }

        @Override
        void phase(String name) {
            phase = name;
        }

        @Override
        void step(long messages) {
            done += messages;
            long now = System.nanoTime();
            if (now - lastLog >= LOG_EVERY_NANOS) {
                lastLog = now;
                log.info("Generating: {} {}% ({} of {} message steps), {} rows written, {} rows/s",
                        phase, steps == 0 ? 100 : done * 100 / steps, done, steps, rows, rowsPerSecond());
            }
        }

        @Override
        public void close() {
        }
    }
}
