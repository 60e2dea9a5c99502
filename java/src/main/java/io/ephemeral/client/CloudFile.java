package io.ephemeral.client;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the cloud file the Rust SDK and the CLI use ({@code ephemeral dev} writes one):
 *
 * <pre>
 * timeout_secs = 600
 *
 * [[parties]]
 * id = 0
 * url = "https://127.0.0.1:7100"
 * token = "…"
 * ca_cert = "/path/party0.pem"      # relative paths are relative to the file
 * </pre>
 *
 * Only this subset of TOML is read (strings, integers, comments, {@code [[parties]]}); anything
 * else is an error naming the line.
 */
public final class CloudFile {
  private CloudFile() {}

  /** The parties and timeout of a cloud file. */
  public record Cloud(List<PartyEndpoint> parties, Duration timeout) {}

  /** Loads and checks {@code path}. */
  public static Cloud load(Path path) {
    String text;
    try {
      text = Files.readString(path);
    } catch (IOException e) {
      throw new ConfigException("cloud file " + path + ": cannot read it: " + e.getMessage(), e);
    }
    return parse(text, path.toAbsolutePath().getParent(), path.toString());
  }

  /** Parses a cloud file's text; {@code base} resolves relative {@code ca_cert} paths. */
  public static Cloud parse(String text, Path base, String name) {
    long timeout = 600;
    List<Map<String, Object>> parties = new ArrayList<>();
    Map<String, Object> current = null;
    String[] lines = text.split("\n", -1);
    for (int n = 0; n < lines.length; n++) {
      String line = stripComment(lines[n]).trim();
      String where = "cloud file " + name + ", line " + (n + 1);
      if (line.isEmpty()) {
        continue;
      }
      if (line.equals("[[parties]]")) {
        current = new HashMap<>();
        parties.add(current);
        continue;
      }
      int eq = line.indexOf('=');
      if (eq < 0) {
        throw new ConfigException(where + ": expected key = value or [[parties]]");
      }
      String key = line.substring(0, eq).trim();
      Object value = value(line.substring(eq + 1).trim(), where);
      if (current == null) {
        if (!key.equals("timeout_secs") || !(value instanceof Long)) {
          throw new ConfigException(where + ": unknown setting " + key + " (only timeout_secs = N before [[parties]])");
        }
        timeout = (Long) value;
      } else {
        if (!List.of("id", "url", "token", "ca_cert").contains(key)) {
          throw new ConfigException(where + ": unknown party field " + key + " (id, url, token, ca_cert)");
        }
        current.put(key, value);
      }
    }
    if (parties.isEmpty()) {
      throw new ConfigException("cloud file " + name + ": no [[parties]]");
    }
    List<PartyEndpoint> out = new ArrayList<>();
    for (int i = 0; i < parties.size(); i++) {
      Map<String, Object> p = parties.get(i);
      String field = "cloud file " + name + ": parties[" + i + "]";
      if (!(p.get("id") instanceof Long id) || !(p.get("url") instanceof String url)) {
        throw new ConfigException(field + ": needs id = N and url = \"…\"");
      }
      Object token = p.get("token");
      Object ca = p.get("ca_cert");
      Path caPath = null;
      if (ca instanceof String s) {
        caPath = base == null ? Path.of(s) : base.resolve(s);
      }
      URI uri;
      try {
        uri = new URI(url);
      } catch (URISyntaxException e) {
        throw new ConfigException(field + ".url: " + e.getMessage(), e);
      }
      out.add(new PartyEndpoint(Math.toIntExact(id), uri, token instanceof String t ? t : null, caPath));
    }
    return new Cloud(out, Duration.ofSeconds(timeout));
  }

  private static String stripComment(String line) {
    boolean inBasic = false;
    boolean inLiteral = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (inBasic && c == '\\') {
        i++;
      } else if (c == '"' && !inLiteral) {
        inBasic = !inBasic;
      } else if (c == '\'' && !inBasic) {
        inLiteral = !inLiteral;
      } else if (c == '#' && !inBasic && !inLiteral) {
        return line.substring(0, i);
      }
    }
    return line;
  }

  private static Object value(String v, String where) {
    if (v.startsWith("\"") && v.endsWith("\"") && v.length() >= 2) {
      StringBuilder sb = new StringBuilder();
      for (int i = 1; i < v.length() - 1; i++) {
        char c = v.charAt(i);
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        if (++i >= v.length() - 1) {
          throw new ConfigException(where + ": a string ends in a backslash");
        }
        char e = v.charAt(i);
        switch (e) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case 'r' -> sb.append('\r');
          case '"' -> sb.append('"');
          case '\\' -> sb.append('\\');
          case 'u' -> {
            if (i + 4 >= v.length()) {
              throw new ConfigException(where + ": a short \\u escape");
            }
            sb.append((char) Integer.parseInt(v.substring(i + 1, i + 5), 16));
            i += 4;
          }
          default -> throw new ConfigException(where + ": unknown escape \\" + e);
        }
      }
      return sb.toString();
    }
    if (v.startsWith("'") && v.endsWith("'") && v.length() >= 2) {
      return v.substring(1, v.length() - 1);
    }
    try {
      return Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new ConfigException(where + ": " + v + " is not a string or an integer");
    }
  }
}
