package dev.shoal.kernel.sharing;

import java.io.Serializable;

/** Where a worker listens for its peers: a host name or IP literal (IPv4 or IPv6) and a port. */
public record PeerAddress(String host, int port) implements Serializable {

    /** host:port, with an IPv6 literal in brackets. */
    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
