package io.ephemeral.client;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.ephemeral.client.Model.OutputKind;
import io.ephemeral.client.Model.Tag;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A request to run a program on every party: the program ({@code code}, or a deployed {@code
 * function}), its input secrets (their values are what the program reads first from its client
 * socket), compile-time arguments, public input and the output mode. Build with {@link
 * #code(String)} or {@link #function(String)}.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonAutoDetect(
    fieldVisibility = JsonAutoDetect.Visibility.ANY,
    getterVisibility = JsonAutoDetect.Visibility.NONE,
    isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class Activation {
  @JsonProperty("game_id")
  private final String gameId;

  private final String code;
  private final String function;
  private final List<String> args;
  private final List<UUID> inputs;
  private final Output output;

  @JsonProperty("public_input")
  private final String publicInput;

  /** The {@code output} object: the mode and, for stored outputs, the new secret's tags. */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  public record Output(@JsonProperty("type") OutputKind kind, List<Tag> tags) {}

  private Activation(Builder b) {
    this.gameId = b.gameId;
    this.code = b.code;
    this.function = b.function;
    this.args = List.copyOf(b.args);
    this.inputs = List.copyOf(b.inputs);
    this.output = new Output(b.output, List.copyOf(b.outputTags));
    this.publicInput = b.publicInput;
  }

  /** A game running {@code source} (MP-SPDZ's Python dialect). */
  public static Builder code(String source) {
    Builder b = new Builder();
    b.code = Objects.requireNonNull(source, "code");
    return b;
  }

  /** A game running a deployed function: {@code name} (its latest version) or {@code name@v}. */
  public static Builder function(String name) {
    Builder b = new Builder();
    b.function = Objects.requireNonNull(name, "function");
    return b;
  }

  public String gameId() {
    return gameId;
  }

  public String code() {
    return code;
  }

  public String function() {
    return function;
  }

  public List<String> args() {
    return args;
  }

  public List<UUID> inputs() {
    return inputs;
  }

  public Output output() {
    return output;
  }

  public String publicInput() {
    return publicInput;
  }

  /** This activation with a game id (the client picks a fresh UUID when none is set). */
  Activation withGameId(String id) {
    Builder b = new Builder();
    b.gameId = id;
    b.code = code;
    b.function = function;
    b.args.addAll(args);
    b.inputs.addAll(inputs);
    b.output = output.kind();
    b.outputTags.addAll(output.tags());
    b.publicInput = publicInput;
    return b.build();
  }

  /** Builds an {@link Activation}. */
  public static final class Builder {
    private String gameId;
    private String code;
    private String function;
    private final List<String> args = new ArrayList<>();
    private final List<UUID> inputs = new ArrayList<>();
    private OutputKind output = OutputKind.PLAINTEXT;
    private final List<Tag> outputTags = new ArrayList<>();
    private String publicInput;

    private Builder() {}

    /** Names the game on every party (default: a fresh random UUID). */
    public Builder gameId(String id) {
      this.gameId = id;
      return this;
    }

    /** Input secrets, in the order the program reads them. */
    public Builder inputs(UUID... ids) {
      inputs.addAll(List.of(ids));
      return this;
    }

    /** Input secrets, in the order the program reads them. */
    public Builder inputs(List<UUID> ids) {
      inputs.addAll(ids);
      return this;
    }

    /** Compile-time arguments ({@code program.args}); part of the program hash. */
    public Builder args(String... a) {
      args.addAll(List.of(a));
      return this;
    }

    /** The output mode (default PLAINTEXT). */
    public Builder output(OutputKind kind) {
      this.output = Objects.requireNonNull(kind, "output");
      return this;
    }

    /** Tags of the stored output secret (AMPHORASECRET only). */
    public Builder outputTags(Tag... tags) {
      outputTags.addAll(List.of(tags));
      return this;
    }

    /** Public input ({@code public_input()}), the same on every party. */
    public Builder publicInput(String text) {
      this.publicInput = text;
      return this;
    }

    public Activation build() {
      return new Activation(this);
    }
  }
}
