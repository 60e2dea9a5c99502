package io.ephemeral.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ephemeral.client.Model.FunctionInfo;
import io.ephemeral.client.Model.GameSummary;
import io.ephemeral.client.Model.Health;
import io.ephemeral.client.Model.OutputKind;
import io.ephemeral.client.Model.PolicyInfo;
import io.ephemeral.client.Model.SecretInfo;
import io.ephemeral.client.Model.SecretPage;
import io.ephemeral.client.Model.Tag;
import io.ephemeral.client.Model.TagType;
import io.ephemeral.client.Model.TupleStats;
import io.ephemeral.client.Model.UsePolicy;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every call of the client against a real local virtual cloud ({@code ephemeral dev}, three
 * parties serving HTTPS with pinned development certificates), and a tampering party detected.
 */
class CloudTest {
  private static final String SUM =
      "listen(10000)\n"
          + "client_socket_id = regint()\n"
          + "acceptclientconnection(client_socket_id, 10000)\n"
          + "v = sint.read_from_socket(client_socket_id, 2)\n"
          + "resp = Array(1, sint)\n"
          + "resp[0] = v[0] + v[1]\n"
          + "sint.write_to_socket(client_socket_id, resp)\n";

  private static DevCloud dev;
  private static EphemeralClient client;

  @BeforeAll
  static void start() throws Exception {
    long t0 = System.nanoTime();
    dev = DevCloud.start(3);
    client = dev.client();
    System.out.printf("ephemeral dev (3 parties) up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @AfterAll
  static void stop() throws Exception {
    if (dev != null) {
      dev.close();
    }
  }

  @Test
  void healthAndTupleStatistics() {
    List<Health> h = client.health();
    assertEquals(3, h.size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, h.get(i).party());
      assertEquals(3, h.get(i).parties());
      assertEquals("ok", h.get(i).status());
      assertEquals("insecure-dealer", h.get(i).generator());
      assertEquals(2, h.get(i).peers().size());
    }
    List<TupleStats> t = client.tupleStats();
    assertEquals(3, t.size());
    for (TupleStats s : t) {
      assertFalse(s.kinds().isEmpty());
      assertTrue(s.kinds().stream().anyMatch(k -> k.kind().equals("triple")), s.toString());
    }
  }

  @Test
  void secretsUploadVerifiedDownloadListTagsPolicyDelete() {
    BigInteger big = Field.P.subtract(BigInteger.valueOf(5)); // −5
    String marker = "java-" + UUID.randomUUID();
    UUID id =
        client.createSecret(
            List.of(BigInteger.valueOf(42), BigInteger.valueOf(-7), big, BigInteger.ONE.shiftLeft(100)),
            List.of(Tag.string("name", marker), Tag.longTag("n", 7)));
    List<BigInteger> got = client.getSecret(id);
    assertEquals(
        List.of(BigInteger.valueOf(42), Field.reduce(BigInteger.valueOf(-7)), big, BigInteger.ONE.shiftLeft(100)), got);
    UUID small = client.createSecret(new long[] {-3, 9}, Tag.string("name", marker + "-b"));
    assertEquals(List.of(-3L, 9L), toList(client.getSecretLongs(small)));

    SecretInfo info = client.secretInfo(id);
    assertEquals(id, info.id());
    assertEquals(4, info.len());
    assertEquals("owner", info.tags().get(0).key());
    assertEquals("creation-date", info.tags().get(1).key());

    SecretPage page = client.listSecrets("name:" + marker, null, null);
    assertEquals(1, page.totalItems());
    assertEquals(id, page.items().get(0).id());
    assertEquals(1, client.listSecrets("n>6,name:" + marker, 0L, 10).items().size());
    assertEquals(0, client.listSecrets("n<7,name:" + marker, 0L, 10).items().size());
    ApiException bad = assertThrows(ApiException.class, () -> client.listSecrets("nooperator", null, null));
    assertEquals("bad_request", bad.code());
    assertEquals(400, bad.status());

    client.addTag(id, Tag.string("color", "blue"));
    ApiException dup = assertThrows(ApiException.class, () -> client.addTag(id, Tag.string("color", "red")));
    assertEquals("conflict", dup.code());
    client.setTag(id, Tag.string("color", "green"));
    assertEquals(Tag.string("color", "green"), client.getTag(id, "color"));
    client.deleteTag(id, "color");
    assertThrows(ApiException.class, () -> client.getTag(id, "color"));
    client.replaceTags(id, List.of(Tag.longTag("n", 8)));
    List<Tag> tags = client.getTags(id);
    assertTrue(tags.contains(new Tag("n", "8", TagType.LONG)), tags.toString());
    assertFalse(tags.stream().anyMatch(t -> t.key().equals("name")), tags.toString());

    PolicyInfo set = client.setPolicy(id, new UsePolicy(List.of("ab".repeat(32)), List.of(OutputKind.PLAINTEXT), 3L));
    assertEquals(3L, set.policy().maxUses());
    List<PolicyInfo> policies = client.getPolicy(id);
    assertEquals(3, policies.size());
    assertEquals("POLICY", policies.get(0).source());
    client.clearPolicy(id);
    assertEquals("NONE", client.getPolicy(id).get(1).source());

    client.deleteSecret(id);
    ApiException gone = assertThrows(ApiException.class, () -> client.getSecret(id));
    assertEquals("not_found", gone.code());
    assertEquals(404, gone.status());
    client.deleteSecret(small);
  }

  @Test
  void executeInEveryOutputMode() {
    UUID a = client.createSecret(new long[] {42});
    UUID b = client.createSecret(new long[] {-7});

    ExecutionResult plain = client.execute(Activation.code(SUM).inputs(a, b).build());
    assertEquals(OutputKind.PLAINTEXT, plain.kind());
    assertEquals(List.of(BigInteger.valueOf(35)), plain.values());
    assertEquals(3, plain.stats().size());
    assertEquals(64, plain.programHash().length());

    ExecutionResult shares =
        client.execute(Activation.code(SUM).inputs(a, b).output(OutputKind.SECRETSHARE).build());
    assertEquals(List.of(BigInteger.valueOf(35)), shares.values());

    String game = UUID.randomUUID().toString();
    ExecutionResult stored =
        client.execute(
            Activation.code(SUM)
                .gameId(game)
                .inputs(List.of(a, b))
                .output(OutputKind.AMPHORASECRET)
                .outputTags(Tag.string("kind", "sum"))
                .build());
    assertEquals(game, stored.gameId());
    assertEquals(1, stored.secretIds().size());
    UUID out = stored.secretIds().get(0);
    assertEquals(List.of(35L), toList(client.getSecretLongs(out)));
    assertTrue(client.getTags(out).contains(Tag.string("gameID", game)));
    List<GameSummary> status = client.gameStatus(game);
    assertEquals(3, status.size());
    status.forEach(s -> assertEquals("succeeded", s.status()));

    ExecutionResult printed =
        client.execute(Activation.code("print_ln('%s', (sint(6) * sint(7)).reveal())").build());
    assertEquals("42", printed.printed().trim());

    ExecutionResult withInputs =
        client.execute(
            Activation.code("n = public_input()\nprint_ln('%s', n * int(program.args[1]))")
                .args("3")
                .publicInput("14")
                .build());
    assertEquals("42", withInputs.printed().trim());

    ApiException compile = assertThrows(ApiException.class, () -> client.execute(Activation.code("this is not python(").build()));
    assertEquals("compile_error", compile.code());
  }

  @Test
  void functionsDeployListExecuteDelete() {
    String name = "sum-" + UUID.randomUUID().toString().substring(0, 8);
    FunctionInfo f = client.deployFunction(name, SUM, List.of());
    assertEquals(name, f.name());
    assertEquals(1, f.version());
    assertTrue(client.listFunctions().stream().anyMatch(x -> x.name().equals(name)));
    assertEquals(1, client.functionVersions(name).size());
    UUID a = client.createSecret(new long[] {10});
    UUID b = client.createSecret(new long[] {5});
    ExecutionResult r = client.execute(Activation.function(name).inputs(a, b).build());
    assertEquals(List.of(BigInteger.valueOf(15)), r.values());
    assertEquals(f.programHash(), r.programHash());
    client.deleteFunction(name);
    ApiException e = assertThrows(ApiException.class, () -> client.functionVersions(name));
    assertEquals("not_found", e.code());
  }

  @Test
  void errorsAreTyped() throws Exception {
    CloudFile.Cloud c = dev.cloud();
    // A wrong token: every party answers 401.
    EphemeralClient.Builder wrong = EphemeralClient.builder().timeout(Duration.ofSeconds(20));
    for (PartyEndpoint p : c.parties()) {
      wrong.party(new PartyEndpoint(p.id(), p.url(), "not-the-token", p.caCert()));
    }
    ApiException unauthorized = assertThrows(ApiException.class, () -> wrong.build().tupleStats());
    assertEquals(401, unauthorized.status());
    assertEquals("unauthorized", unauthorized.code());
    assertThrows(ApiException.class, () -> wrong.build().createSecret(new long[] {1}));

    // A party that does not listen: a transport error naming it.
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    EphemeralClient.Builder down = EphemeralClient.builder().timeout(Duration.ofSeconds(20));
    down.party(c.parties().get(0));
    down.party(new PartyEndpoint(1, URI.create("https://127.0.0.1:" + closed), "t", c.parties().get(1).caCert()));
    TransportException t = assertThrows(TransportException.class, () -> down.build().health());
    assertEquals(1, t.party());

    // Another party's certificate pinned for party 0: TLS refuses, nothing is sent in clear.
    EphemeralClient.Builder impostor = EphemeralClient.builder().timeout(Duration.ofSeconds(20));
    PartyEndpoint p0 = c.parties().get(0);
    impostor.party(new PartyEndpoint(0, p0.url(), p0.token(), c.parties().get(1).caCert()));
    TransportException tls = assertThrows(TransportException.class, () -> impostor.build().health());
    assertEquals(0, tls.party());

    // Parties listed in the wrong order: their own ids disagree.
    EphemeralClient.Builder swapped = EphemeralClient.builder();
    List<PartyEndpoint> ps = new ArrayList<>(c.parties());
    swapped.party(new PartyEndpoint(0, ps.get(1).url(), ps.get(1).token(), ps.get(1).caCert()));
    swapped.party(new PartyEndpoint(1, ps.get(0).url(), ps.get(0).token(), ps.get(0).caCert()));
    swapped.party(ps.get(2));
    assertThrows(DisagreementException.class, () -> swapped.build().health());
  }

  @Test
  void aTamperingPartyIsDetected() throws Exception {
    UUID a = client.createSecret(new long[] {42, 1});
    UUID b = client.createSecret(new long[] {-7});
    CloudFile.Cloud c = dev.cloud();
    try (TamperingProxy proxy = new TamperingProxy(c.parties().get(1))) {
      EphemeralClient.Builder cheating = EphemeralClient.builder().timeout(Duration.ofSeconds(60));
      cheating.party(c.parties().get(0));
      cheating.party(new PartyEndpoint(1, proxy.url(), c.parties().get(1).token(), null));
      cheating.party(c.parties().get(2));
      EphemeralClient cc = cheating.build();
      // Health passes through untouched: the proxy is a working party otherwise.
      assertEquals(3, cc.health().size());

      IntegrityException down = assertThrows(IntegrityException.class, () -> cc.getSecret(a));
      assertEquals(0, down.index());
      assertEquals("w = s·r", down.check());

      IntegrityException up = assertThrows(IntegrityException.class, () -> cc.createSecret(new long[] {5}));
      assertEquals(0, up.index());

      assertThrows(
          IntegrityException.class,
          () -> cc.execute(Activation.code(SUM).inputs(a, b).output(OutputKind.SECRETSHARE).build()));
      assertTrue(proxy.tampered.get() >= 3, "the proxy tampered " + proxy.tampered.get() + " answers");
    }
    // The honest route still verifies.
    assertEquals(List.of(42L, 1L), toList(client.getSecretLongs(a)));
  }

  private static List<Long> toList(long[] v) {
    List<Long> out = new ArrayList<>();
    for (long x : v) {
      out.add(x);
    }
    return out;
  }
}
