package io.ephemeral.client;

/** A party could not be reached or its answer was not HTTP we understand (TLS, timeout, I/O). */
public class TransportException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  public TransportException(int party, String url, String message, Throwable cause) {
    super(party, "party " + party + " (" + url + "): " + message, cause);
  }
}
