package io.ephemeral.client;

import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One party of a virtual cloud: its id (0..N−1), the base URL of its API, the bearer token sent
 * to it, and optionally the PEM certificate(s) to trust for its HTTPS endpoint.
 *
 * <p>{@code caCert} is a <b>pin</b>: when set, these certificates are the only trust anchors for
 * this party (the JDK's default roots are not used for it), as the Rust SDK's {@code ca_cert}.
 * Certificate and host name verification stay on; there is no way to switch them off.
 *
 * @param id the party's id
 * @param url its API's base URL, {@code https://host:port} (or {@code http://} on loopback)
 * @param token the bearer token, or null
 * @param caCert a PEM file of certificates to trust for this party, or null for the JDK's roots
 */
public record PartyEndpoint(int id, URI url, String token, Path caCert) {
  public PartyEndpoint {
    Objects.requireNonNull(url, "url");
    if (id < 0) {
      throw new ConfigException("party id " + id + " is negative");
    }
  }
}
