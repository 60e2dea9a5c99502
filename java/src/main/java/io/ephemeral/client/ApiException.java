package io.ephemeral.client;

/** A party answered with an API error: its HTTP status and its JSON {@code {code, message}}. */
public class ApiException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;
  private final String serverMessage;
  private final Long retryAfterSecs;

  public ApiException(int party, int status, String code, String message, Long retryAfterSecs) {
    super(party, "party " + party + " answered " + code + " (HTTP " + status + "): " + message);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.retryAfterSecs = retryAfterSecs;
  }

  /** The HTTP status. */
  public int status() {
    return status;
  }

  /** The node's error code, e.g. {@code not_found}, {@code forbidden}, {@code compile_error}. */
  public String code() {
    return code;
  }

  /** The node's message. */
  public String serverMessage() {
    return serverMessage;
  }

  /** Seconds to wait before retrying (429 and 503 answers), or null. */
  public Long retryAfterSecs() {
    return retryAfterSecs;
  }
}
