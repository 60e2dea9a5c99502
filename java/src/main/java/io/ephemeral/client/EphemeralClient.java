package io.ephemeral.client;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.type.TypeFactory;
import io.ephemeral.client.Model.AmphoraSecret;
import io.ephemeral.client.Model.FunctionInfo;
import io.ephemeral.client.Model.GameOutput;
import io.ephemeral.client.Model.GameResult;
import io.ephemeral.client.Model.GameSummary;
import io.ephemeral.client.Model.Health;
import io.ephemeral.client.Model.OutputDelivery;
import io.ephemeral.client.Model.OutputKind;
import io.ephemeral.client.Model.Plaintext;
import io.ephemeral.client.Model.PolicyInfo;
import io.ephemeral.client.Model.SecretInfo;
import io.ephemeral.client.Model.SecretPage;
import io.ephemeral.client.Model.SecretShare;
import io.ephemeral.client.Model.Tag;
import io.ephemeral.client.Model.TupleStats;
import io.ephemeral.client.Model.UsePolicy;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * One client across every party of an Ephemeral virtual cloud (what Carbyne Stack splits into
 * {@code EphemeralMultiClient} and {@code AmphoraClient}).
 *
 * <p>Every write goes to all parties at once and their answers must agree; read-only metadata
 * comes from party 0. No value reaches the caller unverified: uploads verify their input masks
 * and downloads their values with the output-delivery check (w = s·r, u = v·r, {@link
 * Verification}); ids, program hashes and plaintexts that every party returns are compared; each
 * answer must come from the party this client names.
 *
 * <pre>{@code
 * EphemeralClient client = EphemeralClient.fromCloudFile(Path.of(".ephemeral-dev/cloud.toml"));
 * UUID a = client.createSecret(new long[] {42});
 * UUID b = client.createSecret(new long[] {-7});
 * ExecutionResult r = client.execute(Activation.code(source).inputs(a, b).build());
 * }</pre>
 */
public final class EphemeralClient {
  /** The default per-request timeout: games may run for minutes. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(600);

  private final List<Party> parties;

  private EphemeralClient(List<Party> parties) {
    this.parties = parties;
  }

  /** A builder: add every party's endpoint, in id order. */
  public static Builder builder() {
    return new Builder();
  }

  /** A client for the parties of a cloud file (the Rust SDK's and the CLI's). */
  public static EphemeralClient fromCloudFile(Path path) {
    CloudFile.Cloud c = CloudFile.load(path);
    Builder b = builder().timeout(c.timeout());
    c.parties().forEach(b::party);
    return b.build();
  }

  /** Builds an {@link EphemeralClient}. */
  public static final class Builder {
    private final List<PartyEndpoint> endpoints = new ArrayList<>();
    private String token;
    private Duration timeout = DEFAULT_TIMEOUT;

    private Builder() {}

    /** Adds a party (its id must be the next one: 0, 1, …). */
    public Builder party(PartyEndpoint ep) {
      endpoints.add(ep);
      return this;
    }

    /** Adds the next party at {@code url}, trusting the certificates in {@code caCert} (or null). */
    public Builder party(String url, Path caCert) {
      return party(new PartyEndpoint(endpoints.size(), URI.create(url), null, caCert));
    }

    /** The bearer token for every party added without one of its own. */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /** The per-request timeout (default 600 s). */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    public EphemeralClient build() {
      if (endpoints.isEmpty()) {
        throw new ConfigException("a virtual cloud needs at least one party");
      }
      List<Party> ps = new ArrayList<>();
      for (int i = 0; i < endpoints.size(); i++) {
        PartyEndpoint ep = endpoints.get(i);
        if (ep.id() != i) {
          throw new ConfigException(
              "parties must be added in id order 0, 1, …: the party at position " + i + " has id " + ep.id());
        }
        if (ep.token() == null && token != null) {
          ep = new PartyEndpoint(ep.id(), ep.url(), token, ep.caCert());
        }
        ps.add(new Party(ep, timeout));
      }
      return new EphemeralClient(List.copyOf(ps));
    }
  }

  /** Number of parties. */
  public int parties() {
    return parties.size();
  }

  // ---- transport -------------------------------------------------------------------------

  private static JavaType type(Class<?> c) {
    return TypeFactory.defaultInstance().constructType(c);
  }

  private static JavaType listOf(Class<?> c) {
    return TypeFactory.defaultInstance().constructCollectionType(List.class, c);
  }

  private static String json(Object body) {
    try {
      return Json.MAPPER.writeValueAsString(body);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot encode the request body: " + e.getMessage(), e);
    }
  }

  /** Waits for one party's answer; failures surface as {@link EphemeralException}s. */
  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      throw unwrap(e);
    }
  }

  private static RuntimeException unwrap(Throwable e) {
    Throwable c = e;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof RuntimeException r) {
      return r;
    }
    return new EphemeralException(-1, c.toString(), c);
  }

  /**
   * Sends to every party at once; returns the answers in party order, or throws the first error
   * to arrive (without waiting for slower parties).
   */
  private <T> List<T> fanOut(Function<Party, CompletableFuture<T>> send) {
    List<CompletableFuture<T>> fs = new ArrayList<>();
    for (Party p : parties) {
      fs.add(send.apply(p));
    }
    CompletableFuture<Void> firstError = new CompletableFuture<>();
    for (CompletableFuture<T> f : fs) {
      f.whenComplete(
          (v, e) -> {
            if (e != null) {
              firstError.completeExceptionally(e);
            }
          });
    }
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0]))
        .whenComplete(
            (v, e) -> {
              if (e == null) {
                firstError.complete(null);
              }
            });
    join(firstError);
    List<T> out = new ArrayList<>();
    for (CompletableFuture<T> f : fs) {
      out.add(f.join());
    }
    return out;
  }

  private <T> List<T> all(String method, String path, Object body, JavaType type) {
    String b = body == null ? null : json(body);
    return fanOut(p -> p.send(method, path, b, type));
  }

  private <T> T first(String method, String path, JavaType type) {
    return join(parties.get(0).send(method, path, null, type));
  }

  private static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String query(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** Checks that answer i came from party i. */
  private void checkParties(List<Integer> claimed) {
    for (int i = 0; i < claimed.size(); i++) {
      if (claimed.get(i) != i) {
        throw new DisagreementException(
            "party ids: the node at "
                + parties.get(i).url
                + " (party "
                + i
                + " here) says it is party "
                + claimed.get(i)
                + "; fix the order of the endpoints");
      }
    }
  }

  private List<BigInteger> verified(List<OutputDelivery> deliveries, UUID requestId, int expectedLen) {
    checkParties(deliveries.stream().map(OutputDelivery::party).toList());
    for (OutputDelivery d : deliveries) {
      if (!requestId.equals(d.requestId())) {
        throw new DecodeException(d.party(), "delivery for request " + d.requestId() + " when " + requestId + " was asked for");
      }
    }
    return Verification.verify(deliveries, expectedLen);
  }

  // ---- secrets ---------------------------------------------------------------------------

  /**
   * Stores {@code values} (taken mod p; a negative x is p − |x|) as a new secret by the
   * input-mask protocol and returns its id: every party hands out shares of fresh random masks r
   * through output delivery, which this client verifies; it then sends m = x − r to every party,
   * and the parties check among themselves that they all received the same m.
   *
   * @throws IntegrityException if the masks do not verify (nothing is stored)
   */
  public UUID createSecret(List<BigInteger> values, List<Tag> tags) {
    if (values.isEmpty()) {
      throw new IllegalArgumentException("a secret needs at least one value");
    }
    UUID requestId = UUID.randomUUID();
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("request_id", requestId);
    req.put("count", values.size());
    List<OutputDelivery> deliveries = all("POST", "/v1/input-masks", req, type(OutputDelivery.class));
    List<BigInteger> masks = verified(deliveries, requestId, values.size());
    List<BigInteger> masked = new ArrayList<>(values.size());
    for (int i = 0; i < values.size(); i++) {
      masked.add(Field.reduce(values.get(i).subtract(masks.get(i))));
    }
    UUID secretId = UUID.randomUUID();
    Map<String, Object> input = new LinkedHashMap<>();
    input.put("request_id", requestId);
    input.put("secret_id", secretId);
    input.put("masked", Field.encodeVector(masked));
    input.put("tags", tags == null ? List.of() : tags);
    List<Map<String, Object>> created = all("POST", "/v1/secrets", input, TypeFactory.defaultInstance().constructMapType(Map.class, String.class, Object.class));
    for (int i = 0; i < created.size(); i++) {
      if (!secretId.toString().equals(created.get(i).get("id"))) {
        throw new DisagreementException(
            "the new secret's id: party " + i + " stored " + created.get(i).get("id") + " instead of " + secretId);
      }
    }
    return secretId;
  }

  /** {@link #createSecret(List, List)} of longs. */
  public UUID createSecret(long[] values, Tag... tags) {
    return createSecret(Arrays.stream(values).mapToObj(BigInteger::valueOf).toList(), List.of(tags));
  }

  /**
   * A secret's values in 0..p, by the verified output-delivery protocol (owner only).
   *
   * @throws IntegrityException if the parties' shares do not verify
   */
  public List<BigInteger> getSecret(UUID id) {
    UUID requestId = UUID.randomUUID();
    List<OutputDelivery> deliveries =
        all("POST", "/v1/secrets/" + id + "/download", Map.of("request_id", requestId), type(OutputDelivery.class));
    return verified(deliveries, requestId, -1);
  }

  /** {@link #getSecret(UUID)} as signed longs (values above (p−1)/2 are negative). */
  public long[] getSecretLongs(UUID id) {
    return getSecret(id).stream().map(Field::toSigned).mapToLong(BigInteger::longValueExact).toArray();
  }

  /**
   * One page of the caller's secrets, from party 0, oldest first. {@code filter} holds
   * comma-joined clauses {@code key:value}, {@code key>n}, {@code key<n} (null: all); {@code
   * page} and {@code size} select a page (both null: everything).
   */
  public SecretPage listSecrets(String filter, Long page, Integer size) {
    List<String> q = new ArrayList<>();
    if (filter != null) {
      q.add("filter=" + query(filter));
    }
    if (page != null) {
      q.add("page=" + page);
    }
    if (size != null) {
      q.add("size=" + size);
    }
    return first("GET", "/v1/secrets" + (q.isEmpty() ? "" : "?" + String.join("&", q)), type(SecretPage.class));
  }

  /** A secret's metadata, from party 0. */
  public SecretInfo secretInfo(UUID id) {
    return first("GET", "/v1/secrets/" + id, type(SecretInfo.class));
  }

  /** Deletes a secret on every party. */
  public void deleteSecret(UUID id) {
    all("DELETE", "/v1/secrets/" + id, null, null);
  }

  /** A secret's tags ({@code owner} and {@code creation-date} first), from party 0. */
  public List<Tag> getTags(UUID id) {
    return first("GET", "/v1/secrets/" + id + "/tags", listOf(Tag.class));
  }

  /** One tag, from party 0. */
  public Tag getTag(UUID id, String key) {
    return first("GET", "/v1/secrets/" + id + "/tags/" + segment(key), type(Tag.class));
  }

  /** Adds a tag on every party (refused with 409 if the key exists). */
  public void addTag(UUID id, Tag tag) {
    all("POST", "/v1/secrets/" + id + "/tags", tag, null);
  }

  /** Sets (creates or replaces) a tag on every party. */
  public void setTag(UUID id, Tag tag) {
    all("PUT", "/v1/secrets/" + id + "/tags/" + segment(tag.key()), tag, null);
  }

  /** Replaces all user tags on every party. */
  public void replaceTags(UUID id, List<Tag> tags) {
    all("PUT", "/v1/secrets/" + id + "/tags", tags, null);
  }

  /** Deletes a tag on every party. */
  public void deleteTag(UUID id, String key) {
    all("DELETE", "/v1/secrets/" + id + "/tags/" + segment(key), null, null);
  }

  /** Sets a secret's use policy on every party (owner only); returns party 0's view. */
  public PolicyInfo setPolicy(UUID id, UsePolicy policy) {
    List<PolicyInfo> infos = all("PUT", "/v1/secrets/" + id + "/policy", policy, type(PolicyInfo.class));
    for (int i = 1; i < infos.size(); i++) {
      if (!Objects.equals(infos.get(i).policy(), infos.get(0).policy())) {
        throw new DisagreementException("the use policy of secret " + id + ": party " + i + " stored another one than party 0");
      }
    }
    return infos.get(0);
  }

  /** A secret's use policy and use count on every party, in party order (owner only). */
  public List<PolicyInfo> getPolicy(UUID id) {
    return all("GET", "/v1/secrets/" + id + "/policy", null, type(PolicyInfo.class));
  }

  /** Removes a secret's use policy on every party. */
  public void clearPolicy(UUID id) {
    all("DELETE", "/v1/secrets/" + id + "/policy", null, null);
  }

  // ---- functions -------------------------------------------------------------------------

  /**
   * Deploys {@code code} as function {@code name} (a new version, or the latest unchanged) on
   * every party; all must report the same program hash. Returns party 0's record.
   */
  public FunctionInfo deployFunction(String name, String code, List<String> args) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("code", code);
    body.put("args", args == null ? List.of() : args);
    List<FunctionInfo> infos = all("PUT", "/v1/functions/" + segment(name), body, type(FunctionInfo.class));
    for (int i = 0; i < infos.size(); i++) {
      if (!infos.get(i).programHash().equals(infos.get(0).programHash())) {
        throw new DisagreementException(
            "the program hash of function " + name + ": party 0 compiled " + infos.get(0).programHash() + ", party " + i + " compiled " + infos.get(i).programHash());
      }
    }
    return infos.get(0);
  }

  /** Every deployed function (latest version each), from party 0. */
  public List<FunctionInfo> listFunctions() {
    FunctionList l = first("GET", "/v1/functions", type(FunctionList.class));
    return l.items();
  }

  /** The versions of one function, oldest first, from party 0. */
  public List<FunctionInfo> functionVersions(String name) {
    FunctionList l = first("GET", "/v1/functions/" + segment(name), type(FunctionList.class));
    return l.items();
  }

  /** Deletes every version of a function on every party (owner only). */
  public void deleteFunction(String name) {
    all("DELETE", "/v1/functions/" + segment(name), null, null);
  }

  record FunctionList(List<FunctionInfo> items) {}

  // ---- games -----------------------------------------------------------------------------

  /**
   * Runs a game on every party and puts the answers together: PLAINTEXT values must be the same
   * on every party; SECRETSHARE deliveries are added up and verified; AMPHORASECRET ids must
   * agree. Without a game id the client picks a fresh UUID.
   *
   * @throws IntegrityException if SECRETSHARE outputs do not verify
   * @throws DisagreementException if the parties' answers differ
   */
  public ExecutionResult execute(Activation activation) {
    if ((activation.code() == null) == (activation.function() == null)) {
      throw new IllegalArgumentException("an activation needs exactly one of code and function");
    }
    String gameId = activation.gameId() != null ? activation.gameId() : UUID.randomUUID().toString();
    Activation a = activation.withGameId(gameId);
    List<GameResult> results = all("POST", "/v1/games", a, type(GameResult.class));
    return combine(gameId, a.output().kind(), results);
  }

  private ExecutionResult combine(String gameId, OutputKind kind, List<GameResult> results) {
    checkParties(results.stream().map(GameResult::party).toList());
    GameResult first = results.get(0);
    for (int i = 0; i < results.size(); i++) {
      GameResult r = results.get(i);
      if (!gameId.equals(r.gameId())) {
        throw new DecodeException(i, "answered for game " + r.gameId() + ", not " + gameId);
      }
      if (!first.programHash().equals(r.programHash())) {
        throw new DisagreementException("the program hash: party 0 ran " + first.programHash() + ", party " + i + " ran " + r.programHash());
      }
      if (!Objects.equals(first.printed(), r.printed())) {
        throw new DisagreementException("the printed text of game " + gameId + " (party 0 and party " + i + " differ)");
      }
      if (!kindOf(r.output()).equals(kind)) {
        throw new DecodeException(i, "returned " + kindOf(r.output()) + " output, " + kind + " was asked for");
      }
    }
    List<BigInteger> values = List.of();
    List<UUID> ids = List.of();
    switch (kind) {
      case PLAINTEXT -> {
        List<String> v0 = ((Plaintext) first.output()).values();
        for (int i = 1; i < results.size(); i++) {
          if (!v0.equals(((Plaintext) results.get(i).output()).values())) {
            throw new DisagreementException("the plaintext outputs of game " + gameId + " (party 0 and party " + i + " differ)");
          }
        }
        List<BigInteger> vs = new ArrayList<>();
        for (String s : v0) {
          try {
            vs.add(new BigInteger(s.trim()));
          } catch (NumberFormatException e) {
            throw new DecodeException(0, "plaintext output " + s + " is not an integer");
          }
        }
        values = vs;
      }
      case SECRETSHARE -> {
        List<OutputDelivery> ds = results.stream().map(r -> ((SecretShare) r.output()).delivery()).toList();
        values = verified(ds, ds.get(0).requestId(), -1).stream().map(Field::toSigned).toList();
      }
      case AMPHORASECRET -> {
        ids = ((AmphoraSecret) first.output()).ids();
        for (int i = 1; i < results.size(); i++) {
          if (!ids.equals(((AmphoraSecret) results.get(i).output()).ids())) {
            throw new DisagreementException("the ids of the stored outputs of game " + gameId + " (party 0 and party " + i + " differ)");
          }
        }
      }
      default -> throw new IllegalStateException();
    }
    return new ExecutionResult(
        gameId, first.programHash(), kind, values, ids, first.printed(), results.stream().map(GameResult::stats).toList());
  }

  private static OutputKind kindOf(GameOutput o) {
    if (o instanceof Plaintext) {
      return OutputKind.PLAINTEXT;
    }
    if (o instanceof SecretShare) {
      return OutputKind.SECRETSHARE;
    }
    return OutputKind.AMPHORASECRET;
  }

  /** A game's status on every party, in party order. */
  public List<GameSummary> gameStatus(String gameId) {
    return all("GET", "/v1/games/" + segment(gameId), null, type(GameSummary.class));
  }

  // ---- operations ------------------------------------------------------------------------

  /** Every party's tuple pools, in party order. */
  public List<TupleStats> tupleStats() {
    List<TupleStats> s = all("GET", "/v1/tuples", null, type(TupleStats.class));
    checkParties(s.stream().map(TupleStats::party).toList());
    return s;
  }

  /** Every party's health, in party order. */
  public List<Health> health() {
    List<Health> h = all("GET", "/v1/health", null, type(Health.class));
    checkParties(h.stream().map(Health::party).toList());
    return h;
  }
}
