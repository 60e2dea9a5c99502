package io.ephemeral.client;

/** The client's configuration is unusable (a cloud file, an endpoint, a certificate). */
public class ConfigException extends EphemeralException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(-1, message);
  }

  public ConfigException(String message, Throwable cause) {
    super(-1, message, cause);
  }
}
