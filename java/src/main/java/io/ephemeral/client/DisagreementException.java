package io.ephemeral.client;

/**
 * The parties gave answers that must agree but do not (an id, a program hash, plaintext values,
 * who sent which delivery). A party is faulty, misconfigured or cheating; the result was
 * discarded.
 */
public class DisagreementException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  public DisagreementException(String what) {
    super(
        -1,
        "the parties disagree on "
            + what
            + "; a party is faulty, misconfigured or tampering, so the result was discarded");
  }
}
