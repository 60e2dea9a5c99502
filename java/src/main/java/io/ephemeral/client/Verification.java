package io.ephemeral.client;

import io.ephemeral.client.Model.OutputDelivery;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The output-delivery check (Damgård, Damgård, Nielsen, Nordholt, Toft, ePrint 2015/1006), done
 * here with {@link BigInteger}: add up every party's shares of s (the values), r, v, w and u, and
 * check <b>w = s·r and u = v·r</b> for every element. A party that adds δ to its share of s would
 * have to add δ·r to its share of w, but nobody knows r, so the check catches it except with
 * probability about 1/p.
 */
public final class Verification {
  private Verification() {}

  /**
   * Adds up one delivery per party and checks it; returns the values s (in 0..p).
   *
   * <p>Checks, in order: one delivery for each party 0..N−1 (N = the list's size, any order), all
   * for the same request; five vectors of one length per delivery, the same for every party and
   * equal to {@code expectedLen} if it is not negative; canonical elements; then the products.
   *
   * @throws IntegrityException naming the first element whose check fails
   * @throws DecodeException or {@link DisagreementException} on malformed deliveries
   */
  public static List<BigInteger> verify(List<OutputDelivery> deliveries, int expectedLen) {
    int n = deliveries.size();
    if (n == 0) {
      throw new DecodeException(null, "no deliveries to verify");
    }
    boolean[] seen = new boolean[n];
    for (OutputDelivery d : deliveries) {
      if (d.party() < 0 || d.party() >= n) {
        throw new DecodeException(d.party(), "delivery from party " + d.party() + " but there are " + n + " parties");
      }
      if (seen[d.party()]) {
        throw new DisagreementException("who sent which delivery: party " + d.party() + " answered twice");
      }
      seen[d.party()] = true;
    }
    var requestId = deliveries.get(0).requestId();
    for (OutputDelivery d : deliveries) {
      if (requestId == null || !requestId.equals(d.requestId())) {
        throw new DisagreementException(
            "the request id of the delivery (party "
                + deliveries.get(0).party()
                + " says "
                + requestId
                + ", party "
                + d.party()
                + " says "
                + d.requestId()
                + ")");
      }
    }
    int len = expectedLen >= 0 ? expectedLen : decode(deliveries.get(0), "s", deliveries.get(0).s()).size();
    BigInteger[][] sums = new BigInteger[5][len];
    for (BigInteger[] row : sums) {
      java.util.Arrays.fill(row, BigInteger.ZERO);
    }
    String[] names = {"s", "r", "v", "w", "u"};
    for (OutputDelivery d : deliveries) {
      String[] vecs = {d.s(), d.r(), d.v(), d.w(), d.u()};
      for (int f = 0; f < 5; f++) {
        List<BigInteger> elems = decode(d, names[f], vecs[f]);
        if (elems.size() != len) {
          throw new DecodeException(
              d.party(),
              "delivery field " + names[f] + " has " + elems.size() + " elements, expected " + len);
        }
        for (int i = 0; i < len; i++) {
          sums[f][i] = sums[f][i].add(elems.get(i));
        }
      }
    }
    List<BigInteger> values = new ArrayList<>(len);
    for (int i = 0; i < len; i++) {
      BigInteger s = sums[0][i].mod(Field.P);
      BigInteger r = sums[1][i].mod(Field.P);
      BigInteger v = sums[2][i].mod(Field.P);
      BigInteger w = sums[3][i].mod(Field.P);
      BigInteger u = sums[4][i].mod(Field.P);
      if (!w.equals(s.multiply(r).mod(Field.P))) {
        throw new IntegrityException(i, "w = s·r");
      }
      if (!u.equals(v.multiply(r).mod(Field.P))) {
        throw new IntegrityException(i, "u = v·r");
      }
      values.add(s);
    }
    return values;
  }

  private static List<BigInteger> decode(OutputDelivery d, String name, String vec) {
    try {
      return Field.decodeVector(vec);
    } catch (DecodeException e) {
      throw new DecodeException(d.party(), "delivery field " + name + ": " + e.detail());
    }
  }
}
