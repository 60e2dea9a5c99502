package io.ephemeral.client;

/** An answer parsed but its content is malformed (bad encoding, wrong lengths, wrong kind). */
public class DecodeException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  private final String detail;

  public DecodeException(Integer party, String detail) {
    super(
        party == null ? -1 : party,
        (party == null ? "" : "party " + party + ": ") + "cannot use the answer: " + detail);
    this.detail = detail;
  }

  /** What is wrong, without the party. */
  public String detail() {
    return detail;
  }
}
