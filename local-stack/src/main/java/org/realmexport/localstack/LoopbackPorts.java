package org.realmexport.localstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Free TCP ports on 127.0.0.1 for servers that must be told their port before they bind (the
 * KRaft controller is named in {@code controller.quorum.voters}; PostgreSQL takes {@code -p}).
 *
 * <p>A port found free can be taken by someone else before the server binds it; callers retry on
 * a bind failure. Within this JVM the race is avoided by never handing out a port twice in a row
 * of {@value #REMEMBERED} grants, so stacks started side by side do not collide.
 */
final class LoopbackPorts {
    private static final int REMEMBERED = 256;
    private static final Deque<Integer> RECENT = new ArrayDeque<>();

    private LoopbackPorts() {
    }

    static synchronized int free() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port;
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(false);
                socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                port = socket.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("no free port on the loopback interface", e);
            }
            if (!RECENT.contains(port)) {
                RECENT.addLast(port);
                if (RECENT.size() > REMEMBERED) {
                    RECENT.removeFirst();
                }
                return port;
            }
        }
        throw new IllegalStateException("the operating system keeps offering ports this JVM already handed out");
    }
}
