package org.realmexport.cli;

import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Tells a long-running command (stack, the services) when to stop. From a terminal that is
 * Ctrl-C (SIGINT) or SIGTERM: both are handled here, so the command closes what it started
 * and exits 0 instead of dying with 130/143. A shutdown hook covers every other way the JVM
 * can go down (SIGHUP, System.exit elsewhere): it asks for the stop and waits, bounded, for
 * the command to finish closing. Tests create one with {@link #manual()} and trigger it.
 */
class StopSignal {
    private static final long CLOSE_WAIT_SECONDS = 60;

    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);
    private Thread hook;

    static StopSignal manual() {
        return new StopSignal();
    }

    /** A stop signal wired to SIGINT, SIGTERM and JVM shutdown. */
    static StopSignal fromProcess() {
        StopSignal signal = new StopSignal();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> signal.request());
            } catch (IllegalArgumentException e) {
                // this platform does not have it (or the JVM reserves it): the shutdown hook still works
            }
        }
        signal.hook = new Thread(() -> {
            signal.request();
            try {
                signal.closed.await(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "realm-export-shutdown");
        Runtime.getRuntime().addShutdownHook(signal.hook);
        return signal;
    }

    void request() {
        requested.countDown();
    }

    boolean isRequested() {
        return requested.getCount() == 0;
    }

    void await() throws InterruptedException {
        requested.await();
    }

    boolean await(long millis) throws InterruptedException {
        return requested.await(millis, TimeUnit.MILLISECONDS);
    }

    /** The command has closed everything: lets a waiting shutdown hook return. */
    void closed() {
        closed.countDown();
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down; the hook is running and returns now
            }
        }
    }
}
