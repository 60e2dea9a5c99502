package io.ephemeral.client;

import io.ephemeral.client.Model.GameStats;
import io.ephemeral.client.Model.OutputKind;
import java.math.BigInteger;
import java.util.List;
import java.util.UUID;

/**
 * What a game gave back on every party, checked and put together: plaintext values that every
 * party returned identically, values recombined from the parties' output-delivery shares and
 * verified, or the ids of the stored output secrets that every party named.
 *
 * @param gameId the game's id
 * @param programHash BLAKE3 of the compiled program, hex; the same on every party
 * @param kind the output mode
 * @param values PLAINTEXT and SECRETSHARE: the values, signed (above (p−1)/2 is negative);
 *     empty for AMPHORASECRET
 * @param secretIds AMPHORASECRET: the stored outputs' ids; empty otherwise
 * @param printed what the program printed, the same on every party (checked)
 * @param stats every party's run statistics, in party order
 */
public record ExecutionResult(
    String gameId,
    String programHash,
    OutputKind kind,
    List<BigInteger> values,
    List<UUID> secretIds,
    String printed,
    List<GameStats> stats) {

  /** The values as longs. */
  public long[] longValues() {
    return values.stream().mapToLong(BigInteger::longValueExact).toArray();
  }
}
