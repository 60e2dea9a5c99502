package io.ephemeral.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CloudFileTest {
  @Test
  void readsWhatEphemeralDevWrites() {
    String text =
        "# written by `ephemeral dev` for /tmp/x\n"
            + "timeout_secs = 30\n\n"
            + "[[parties]]\nid = 0\nurl = \"https://127.0.0.1:7100\"\ntoken = \"dev-ab#c\"\nca_cert = \"/tmp/x/party0.pem\"\n\n"
            + "[[parties]]\nid = 1 # second\nurl = 'https://127.0.0.1:7101'\nca_cert = \"certs/p\\u0031.pem\"\n";
    CloudFile.Cloud c = CloudFile.parse(text, Path.of("/etc/cloud"), "t.toml");
    assertEquals(Duration.ofSeconds(30), c.timeout());
    assertEquals(2, c.parties().size());
    assertEquals("dev-ab#c", c.parties().get(0).token());
    assertEquals(Path.of("/tmp/x/party0.pem"), c.parties().get(0).caCert());
    assertEquals(Path.of("/etc/cloud/certs/p1.pem"), c.parties().get(1).caCert());
    assertNull(c.parties().get(1).token());
    assertEquals("https://127.0.0.1:7101", c.parties().get(1).url().toString());
  }

  @Test
  void errorsNameTheLine() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> CloudFile.parse("[[parties]]\nid = 0\nport = 3\n", null, "t.toml"));
    assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("port"), e.getMessage());
    assertThrows(ConfigException.class, () -> CloudFile.parse("timeout_secs = 1\n", null, "t.toml"));
    assertThrows(ConfigException.class, () -> CloudFile.parse("[[parties]]\nurl = \"x\"\n", null, "t.toml"));
  }

  @Test
  void aTokenNeverTravelsInClearToAnotherHost() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> EphemeralClient.builder().party("http://example.com:7100", null).token("t").build());
    assertTrue(e.getMessage().contains("plain http"), e.getMessage());
    EphemeralClient.builder().party("http://127.0.0.1:7100", null).token("t").build();
    assertThrows(
        ConfigException.class,
        () -> EphemeralClient.builder().party("https://127.0.0.1:7100", Path.of("/nonexistent.pem")).build());
  }
}
