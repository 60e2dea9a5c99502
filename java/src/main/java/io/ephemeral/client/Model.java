package io.ephemeral.client;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The node's JSON bodies (crates/api in the Rust workspace), as records. Unknown properties are
 * ignored, so that a newer node's additions do not break an older client.
 */
public final class Model {
  private Model() {}

  /** The type of a tag's value. */
  public enum TagType {
    STRING,
    LONG
  }

  /**
   * A tag: keys match {@code [-.\w]+} (at most 128 characters), values have at most 256. The
   * node sets {@code owner} and {@code creation-date}.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Tag(String key, String value, @JsonProperty("valueType") TagType valueType) {
    public Tag {
      if (valueType == null) {
        valueType = TagType.STRING;
      }
    }

    /** A STRING tag. */
    public static Tag string(String key, String value) {
      return new Tag(key, value, TagType.STRING);
    }

    /** A LONG tag. */
    public static Tag longTag(String key, long value) {
      return new Tag(key, Long.toString(value), TagType.LONG);
    }
  }

  /** A secret's metadata (never its shares). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record SecretInfo(
      UUID id,
      String owner,
      @JsonProperty("created_at_ms") long createdAtMs,
      long len,
      List<Tag> tags) {}

  /** One page of a listing. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record SecretPage(
      List<SecretInfo> items,
      long number,
      long size,
      @JsonProperty("total_items") long totalItems,
      @JsonProperty("total_pages") long totalPages) {}

  /**
   * One party's part of the output-delivery protocol: its additive shares (values only) of the
   * delivered values s, of random r and v, and of w = s·r and u = v·r, each base64 of 16-byte
   * words.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record OutputDelivery(
      @JsonProperty("request_id") UUID requestId,
      int party,
      String s,
      String r,
      String v,
      String w,
      String u) {}

  /** A secret's use policy (owner only). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record UsePolicy(
      List<String> programs,
      List<OutputKind> outputs,
      @JsonProperty("max_uses") Long maxUses) {}

  /** The policy in force for a secret and its use count on one party. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record PolicyInfo(
      @JsonProperty("secret_id") UUID secretId, String source, UsePolicy policy, long uses) {}

  /** One version of a deployed function. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record FunctionInfo(
      String name,
      int version,
      @JsonProperty("program_hash") String programHash,
      String owner,
      @JsonProperty("created_at_ms") long createdAtMs,
      Map<String, Long> requires) {}

  /** How a game's outputs come back. */
  public enum OutputKind {
    /** Opened after the MAC check and returned in clear. */
    @JsonProperty("PLAINTEXT")
    PLAINTEXT,
    /** Each party's shares through the output-delivery protocol; this client verifies them. */
    @JsonProperty("SECRETSHARE")
    SECRETSHARE,
    /** Stored as a new secret on every party; its id comes back. */
    @JsonProperty("AMPHORASECRET")
    AMPHORASECRET
  }

  /** One party's run statistics. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record GameStats(
      long rounds,
      @JsonProperty("bytes_sent") long bytesSent,
      @JsonProperty("elapsed_ms") double elapsedMs,
      @JsonProperty("join_ms") double joinMs,
      @JsonProperty("cache_hit") boolean cacheHit,
      long triples,
      long bits,
      long squares,
      long inverses) {}

  /** What came out of a game on one party. */
  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = Plaintext.class, name = "PLAINTEXT"),
    @JsonSubTypes.Type(value = SecretShare.class, name = "SECRETSHARE"),
    @JsonSubTypes.Type(value = AmphoraSecret.class, name = "AMPHORASECRET")
  })
  public sealed interface GameOutput permits Plaintext, SecretShare, AmphoraSecret {}

  /** Opened values as signed decimal strings. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Plaintext(List<String> values) implements GameOutput {}

  /** This party's output-delivery shares. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record SecretShare(OutputDelivery delivery) implements GameOutput {}

  /** The stored output secrets. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record AmphoraSecret(List<UUID> ids) implements GameOutput {}

  /** One party's answer to an activation. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record GameResult(
      @JsonProperty("game_id") String gameId,
      int party,
      @JsonProperty("program_hash") String programHash,
      GameOutput output,
      String printed,
      @JsonProperty("printed_private") String printedPrivate,
      GameStats stats) {}

  /** A running or recently finished game on one party. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record GameSummary(
      @JsonProperty("game_id") String gameId,
      String status,
      @JsonProperty("program_hash") String programHash,
      @JsonProperty("started_at_ms") long startedAtMs,
      @JsonProperty("finished_at_ms") Long finishedAtMs,
      String error) {}

  /** Pool level and consumption of one tuple kind on one party. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record TupleKindStats(
      String kind,
      long available,
      long inactive,
      long consumed,
      @JsonProperty("consumption_rate") double consumptionRate,
      long threshold,
      long generated,
      @JsonProperty("generation_rate") double generationRate) {}

  /** One party's tuple pools. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record TupleStats(
      int party,
      String generator,
      List<TupleKindStats> kinds,
      @JsonProperty("jobs_completed") long jobsCompleted,
      @JsonProperty("tuples_generated") long tuplesGenerated) {}

  /** The link from one party to a peer. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record PeerHealth(int party, boolean connected) {}

  /** One party's state. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Health(
      int party,
      int parties,
      String status,
      String version,
      String generator,
      List<PeerHealth> peers,
      @JsonProperty("running_games") long runningGames) {}

  /** The node's error body. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ApiError(
      String code,
      String message,
      Integer party,
      @JsonProperty("retry_after_secs") Long retryAfterSecs) {}
}
