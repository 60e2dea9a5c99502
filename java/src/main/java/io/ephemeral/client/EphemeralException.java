package io.ephemeral.client;

/**
 * Base of every error of this client. Subclasses say what went wrong: {@link ApiException} (a
 * party answered with an error), {@link TransportException} (a party could not be reached),
 * {@link IntegrityException} (a delivery does not verify: a party tampered or is faulty), {@link
 * DisagreementException} (answers that must agree do not), {@link DecodeException} (an answer is
 * malformed) and {@link ConfigException} (the client's own configuration).
 */
public class EphemeralException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The party to blame, or -1 when none is known. */
  private final int party;

  public EphemeralException(int party, String message) {
    super(message);
    this.party = party;
  }

  public EphemeralException(int party, String message, Throwable cause) {
    super(message, cause);
    this.party = party;
  }

  /** The party to blame, or -1 when none is known. */
  public int party() {
    return party;
  }
}
