package io.ephemeral.client;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The prime field of Ephemeral (and of Carbyne Stack and MP-SPDZ's 128-bit default), and its wire
 * encoding: an element x travels as the 16 bytes, little-endian, of x·R mod p with R = 2^128
 * (Montgomery form); a vector is the concatenation, in JSON as standard base64.
 *
 * <p>Decoding refuses words that are not below p, so every decoded value is canonical.
 */
public final class Field {
  /** p = 198766463529478683931867765928436695041. */
  public static final BigInteger P = new BigInteger("198766463529478683931867765928436695041");

  /** R = 2^128 mod p. */
  public static final BigInteger R = BigInteger.ONE.shiftLeft(128).mod(P);

  /** R⁻¹ mod p. */
  public static final BigInteger R_INV = R.modInverse(P);

  /** Bytes of one encoded element. */
  public static final int BYTES = 16;

  private static final BigInteger HALF = P.shiftRight(1);

  private Field() {}

  /** x mod p in 0..p (a negative x becomes p − |x| mod p). */
  public static BigInteger reduce(BigInteger x) {
    return x.mod(P);
  }

  /** The signed representative: values above (p−1)/2 are negative, as MP-SPDZ prints them. */
  public static BigInteger toSigned(BigInteger x) {
    BigInteger r = reduce(x);
    return r.compareTo(HALF) > 0 ? r.subtract(P) : r;
  }

  /** The 16-byte little-endian Montgomery word of x (x reduced mod p first). */
  public static byte[] encode(BigInteger x) {
    BigInteger mont = reduce(x).multiply(R).mod(P);
    byte[] be = mont.toByteArray();
    byte[] out = new byte[BYTES];
    // toByteArray is big-endian with a possible leading sign byte; copy the low 16 bytes reversed.
    for (int i = 0; i < BYTES && i < be.length; i++) {
      out[i] = be[be.length - 1 - i];
    }
    return out;
  }

  /**
   * The element of a 16-byte little-endian Montgomery word.
   *
   * @throws DecodeException if the word is not 16 bytes or not below p
   */
  public static BigInteger decode(byte[] word) {
    return decode(word, 0, -1);
  }

  private static BigInteger decode(byte[] bytes, int offset, int index) {
    if (bytes.length - offset < BYTES) {
      throw new DecodeException(null, "a field element needs 16 bytes, got " + (bytes.length - offset));
    }
    byte[] be = new byte[BYTES + 1];
    for (int i = 0; i < BYTES; i++) {
      be[BYTES - i] = bytes[offset + i];
    }
    BigInteger mont = new BigInteger(be);
    if (mont.compareTo(P) >= 0) {
      throw new DecodeException(
          null,
          (index >= 0 ? "element " + index : "the element")
              + " is not a canonical field element (it must be below p, in Montgomery form)");
    }
    return mont.multiply(R_INV).mod(P);
  }

  /** Encodes a vector as base64 of the concatenated words. */
  public static String encodeVector(List<BigInteger> values) {
    byte[] out = new byte[values.size() * BYTES];
    for (int i = 0; i < values.size(); i++) {
      System.arraycopy(encode(values.get(i)), 0, out, i * BYTES, BYTES);
    }
    return Base64.getEncoder().encodeToString(out);
  }

  /**
   * Decodes base64 of concatenated 16-byte words.
   *
   * @throws DecodeException on bad base64, a length that is not a multiple of 16, or a
   *     non-canonical element
   */
  public static List<BigInteger> decodeVector(String base64) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(base64 == null ? "" : base64);
    } catch (IllegalArgumentException e) {
      throw new DecodeException(null, "not valid base64: " + e.getMessage());
    }
    if (bytes.length % BYTES != 0) {
      throw new DecodeException(
          null, bytes.length + " bytes is not a whole number of 16-byte field elements");
    }
    List<BigInteger> out = new ArrayList<>(bytes.length / BYTES);
    for (int i = 0; i < bytes.length / BYTES; i++) {
      out.add(decode(bytes, i * BYTES, i));
    }
    return out;
  }
}
