package io.ephemeral.client;

/**
 * The output-delivery check failed: for some element, w ≠ s·r or u ≠ v·r after adding up every
 * party's shares. A party tampered with its shares or is faulty; the result was discarded.
 */
public class IntegrityException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  private final int index;
  private final String check;

  public IntegrityException(int index, String check) {
    super(
        -1,
        "element "
            + index
            + ": "
            + check
            + " does not hold: the parties' shares do not verify: a party tampered with the output"
            + " or is faulty, so the result was discarded");
    this.index = index;
    this.check = check;
  }

  /** The first element that failed. */
  public int index() {
    return index;
  }

  /** {@code "w = s·r"} or {@code "u = v·r"}. */
  public String check() {
    return check;
  }
}
