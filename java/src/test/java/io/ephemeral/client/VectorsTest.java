package io.ephemeral.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ephemeral.client.Model.OutputDelivery;
import java.io.InputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java client against vectors the Rust SDK made (crates/client/tests/java_vectors.rs, which
 * fails when the file no longer matches the SDK): the field encoding, the output-delivery check
 * and upload masking agree bit for bit.
 */
class VectorsTest {
  private static JsonNode vectors;

  @BeforeAll
  static void load() throws Exception {
    try (InputStream in = VectorsTest.class.getResourceAsStream("/vectors.json")) {
      assertTrue(in != null, "vectors.json is on the test classpath");
      vectors = new ObjectMapper().readTree(in);
    }
  }

  @Test
  void constantsMatch() {
    assertEquals(new BigInteger(vectors.get("p").asText()), Field.P);
    assertEquals(BigInteger.ONE.shiftLeft(128).mod(Field.P), Field.R);
    assertEquals(BigInteger.ONE, Field.R.multiply(Field.R_INV).mod(Field.P));
  }

  @Test
  void encodingsMatchTheRustSdk() {
    int n = 0;
    for (JsonNode e : vectors.get("encodings")) {
      BigInteger value = new BigInteger(e.get("value").asText());
      BigInteger signed = new BigInteger(e.get("signed").asText());
      byte[] word = Base64.getDecoder().decode(e.get("base64").asText());
      assertArrayEquals(word, Field.encode(value), "encode " + value);
      assertArrayEquals(word, Field.encode(signed), "encode " + signed + " (signed)");
      assertEquals(value, Field.decode(word), "decode " + value);
      assertEquals(signed, Field.toSigned(value));
      assertEquals(e.get("base64").asText(), Field.encodeVector(List.of(value)));
      n++;
    }
    assertTrue(n >= 10, "the file has encodings");
  }

  @Test
  void nonCanonicalWordsAreRefused() {
    for (JsonNode w : vectors.get("non_canonical")) {
      DecodeException e = assertThrows(DecodeException.class, () -> Field.decodeVector(w.asText()));
      assertTrue(e.getMessage().contains("canonical"), e.getMessage());
    }
    assertThrows(DecodeException.class, () -> Field.decodeVector("AAAA"));
    assertThrows(DecodeException.class, () -> Field.decodeVector("not base64!"));
  }

  @Test
  void deliveriesVerifyOrFailWhereTheRustSdkSays() throws Exception {
    ObjectMapper m = Json.MAPPER;
    int ok = 0;
    int failed = 0;
    for (JsonNode c : vectors.get("deliveries")) {
      List<OutputDelivery> ds = new ArrayList<>();
      for (JsonNode d : c.get("deliveries")) {
        ds.add(m.treeToValue(d, OutputDelivery.class));
      }
      List<BigInteger> values = new ArrayList<>();
      c.get("values").forEach(v -> values.add(new BigInteger(v.asText())));
      JsonNode expect = c.get("expect");
      if (expect.get("ok").asBoolean()) {
        assertEquals(values, Verification.verify(ds, values.size()));
        assertEquals(values, Verification.verify(ds, -1));
        ok++;
      } else {
        IntegrityException e = assertThrows(IntegrityException.class, () -> Verification.verify(ds, values.size()));
        assertEquals(expect.get("index").asInt(), e.index(), c.get("expect").toString());
        assertEquals(expect.get("check").asText(), e.check(), c.get("expect").toString());
        failed++;
      }
    }
    assertTrue(ok >= 3 && failed >= 15, ok + " honest, " + failed + " tampered");
  }

  @Test
  void malformedDeliveriesAreDecodeErrorsOrDisagreements() throws Exception {
    JsonNode c = vectors.get("deliveries").get(0);
    List<OutputDelivery> ds = new ArrayList<>();
    for (JsonNode d : c.get("deliveries")) {
      ds.add(Json.MAPPER.treeToValue(d, OutputDelivery.class));
    }
    assertThrows(DecodeException.class, () -> Verification.verify(ds, 7));
    List<OutputDelivery> twice = List.of(ds.get(0), ds.get(0));
    assertThrows(DisagreementException.class, () -> Verification.verify(twice, -1));
    OutputDelivery d1 = ds.get(1);
    OutputDelivery other =
        new OutputDelivery(java.util.UUID.randomUUID(), d1.party(), d1.s(), d1.r(), d1.v(), d1.w(), d1.u());
    assertThrows(DisagreementException.class, () -> Verification.verify(List.of(ds.get(0), other), -1));
    assertThrows(DecodeException.class, () -> Verification.verify(List.of(), -1));
  }

  @Test
  void maskedValuesMatch() {
    for (JsonNode c : vectors.get("masked")) {
      BigInteger x = new BigInteger(c.get("x").asText());
      BigInteger r = new BigInteger(c.get("r").asText());
      assertEquals(c.get("m_base64").asText(), Field.encodeVector(List.of(Field.reduce(x.subtract(r)))));
    }
  }
}
