package io.ephemeral.client;

import com.fasterxml.jackson.databind.JavaType;
import io.ephemeral.client.Model.ApiError;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/** The HTTP client of one party: base URL, token, TLS trust and timeouts. */
final class Party {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  final int id;
  final String url;
  private final String token;
  private final HttpClient http;
  private final Duration timeout;

  Party(PartyEndpoint ep, Duration timeout) {
    this.id = ep.id();
    String u = ep.url().toString().trim();
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    this.url = u;
    this.token = ep.token();
    this.timeout = timeout;
    String scheme = ep.url().getScheme() == null ? "" : ep.url().getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new ConfigException("party " + id + ": url " + u + " is not http:// or https://");
    }
    if (token != null && scheme.equals("http") && !isLoopback(ep.url().getHost())) {
      throw new ConfigException(
          "party "
              + id
              + ": a bearer token may not travel over plain http to "
              + ep.url().getHost()
              + "; use https:// (and caCert for a self-signed certificate), or a loopback host");
    }
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT);
    if (ep.caCert() != null) {
      b.sslContext(pinnedContext(ep));
    }
    this.http = b.build();
  }

  static boolean isLoopback(String host) {
    if (host == null) {
      return false;
    }
    String h = host.toLowerCase(Locale.ROOT);
    return h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1");
  }

  /** An SSLContext trusting exactly the certificates of the party's PEM file. */
  private static SSLContext pinnedContext(PartyEndpoint ep) {
    String field = "party " + ep.id() + " caCert " + ep.caCert();
    Collection<? extends Certificate> certs;
    try (InputStream in = Files.newInputStream(ep.caCert())) {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException e) {
      throw new ConfigException(field + ": cannot read it: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new ConfigException(field + ": not PEM certificates: " + e.getMessage(), e);
    }
    if (certs.isEmpty()) {
      throw new ConfigException(field + ": holds no PEM certificate");
    }
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("pinned-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new ConfigException(field + ": cannot build a TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * Sends one request; the answer's JSON as {@code type} (null type: the body is not read).
   * Failures complete the future with an {@link EphemeralException}.
   */
  <T> CompletableFuture<T> send(String method, String pathAndQuery, String jsonBody, JavaType type) {
    HttpRequest.Builder rb =
        HttpRequest.newBuilder(URI.create(url + pathAndQuery))
            .timeout(timeout)
            .header("Accept", "application/json");
    if (token != null) {
      rb.header("Authorization", "Bearer " + token);
    }
    if (jsonBody != null) {
      rb.header("Content-Type", "application/json");
      rb.method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
    } else {
      rb.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return http.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofString())
        .handle(
            (resp, err) -> {
              if (err != null) {
                throw new CompletionException(transportError(err));
              }
              return this.<T>answer(resp, type);
            });
  }

  private <T> T answer(HttpResponse<String> resp, JavaType type) {
    int status = resp.statusCode();
    String body = resp.body() == null ? "" : resp.body();
    if (status >= 200 && status < 300) {
      if (type == null) {
        return null;
      }
      try {
        return Json.MAPPER.readValue(body, type);
      } catch (IOException e) {
        throw new CompletionException(
            new DecodeException(id, "the answer to " + resp.request().method() + " " + resp.request().uri().getPath() + " is not the expected JSON: " + e.getMessage()));
      }
    }
    ApiError err = null;
    try {
      err = Json.MAPPER.readValue(body, ApiError.class);
    } catch (IOException ignored) {
      // Not our error body (a proxy's answer): reported with the status below.
    }
    if (err != null && err.code() != null && err.message() != null) {
      throw new CompletionException(
          new ApiException(id, status, err.code(), err.message(), err.retryAfterSecs()));
    }
    String text = body.length() > 1000 ? body.substring(0, 1000) + "…" : body;
    throw new CompletionException(
        new ApiException(id, status, "http_" + status, text.isBlank() ? "HTTP " + status : text, null));
  }

  private EphemeralException transportError(Throwable err) {
    Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    String message;
    if (e instanceof HttpTimeoutException) {
      message = "no answer within " + timeout.toSeconds() + " s; raise the client's timeout if the operation is long";
    } else if (e instanceof ConnectException) {
      message = "cannot connect (" + e + "); is the node running, and is its url right?";
    } else if (e instanceof SSLException) {
      message = "TLS failed (" + e.getMessage() + "); is caCert this party's certificate?";
    } else {
      message = "the connection failed before the node answered (" + e + ")";
    }
    return new TransportException(id, url, message, e);
  }
}
