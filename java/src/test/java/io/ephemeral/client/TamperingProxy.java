package io.ephemeral.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A cheating party for the tests: a plain-HTTP server on loopback that forwards every request to
 * one real party (over its pinned HTTPS) and, in every answer, adds 1 to the first element of
 * each output-delivery share vector {@code s} it finds (input masks, downloads, SECRETSHARE game
 * outputs). The honest parties' shares are untouched, so only the verification can notice.
 */
final class TamperingProxy implements AutoCloseable {
  private final HttpServer server;
  private final HttpClient upstream;
  private final String target;
  final AtomicInteger tampered = new AtomicInteger();

  TamperingProxy(PartyEndpoint real) throws Exception {
    this.target = real.url().toString().replaceAll("/+$", "");
    Certificate cert;
    try (InputStream in = Files.newInputStream(real.caCert())) {
      cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("party", cert);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    this.upstream = HttpClient.newBuilder().sslContext(ctx).build();
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::forward);
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  private void forward(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(target + ex.getRequestURI()));
      for (String h : List.of("Authorization", "Content-Type", "Accept")) {
        String v = ex.getRequestHeaders().getFirst(h);
        if (v != null) {
          rb.header(h, v);
        }
      }
      rb.method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
      HttpResponse<byte[]> resp;
      try {
        resp = upstream.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      byte[] out = resp.body();
      if (resp.statusCode() == 200 && out.length > 0 && out[0] == '{') {
        JsonNode tree = Json.MAPPER.readTree(out);
        if (tamper(tree)) {
          out = Json.MAPPER.writeValueAsBytes(tree);
          tampered.incrementAndGet();
        }
      }
      resp.headers().firstValue("content-type").ifPresent(v -> ex.getResponseHeaders().set("Content-Type", v));
      ex.sendResponseHeaders(resp.statusCode(), out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        ex.getResponseBody().write(out);
      }
    }
  }

  /** Adds 1 to the first element of every delivery's {@code s}; whether any was found. */
  private static boolean tamper(JsonNode node) {
    boolean any = false;
    if (node instanceof ObjectNode o) {
      if (o.has("s") && o.has("r") && o.has("w") && o.get("s").isTextual()) {
        List<BigInteger> s = new ArrayList<>(Field.decodeVector(o.get("s").asText()));
        if (!s.isEmpty()) {
          s.set(0, s.get(0).add(BigInteger.ONE));
          o.put("s", Field.encodeVector(s));
          any = true;
        }
      }
      Iterator<JsonNode> it = o.elements();
      while (it.hasNext()) {
        any |= tamper(it.next());
      }
    }
    return any;
  }

  @Override
  public void close() {
    server.stop(0);
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
