package io.ephemeral.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real local virtual cloud for the tests: {@code ephemeral dev} started from {@code
 * $EPHEMERAL_BIN} (system property {@code ephemeral.bin}) in a temporary directory, on free
 * ports, with HOME pointed there (so the user's cloud file is never touched). Its parties serve
 * HTTPS with development certificates that the written cloud file pins.
 */
final class DevCloud implements AutoCloseable {
  final Path dir;
  final Path cloudFile;
  final int parties;
  private final Process process;

  private DevCloud(Path dir, int parties, Process process) {
    this.dir = dir;
    this.cloudFile = dir.resolve("cloud.toml");
    this.parties = parties;
    this.process = process;
  }

  static String binary() {
    String bin = System.getProperty("ephemeral.bin");
    if (bin == null || bin.isBlank() || bin.startsWith("${")) {
      bin = System.getenv("EPHEMERAL_BIN");
    }
    if (bin == null || bin.isBlank() || !Files.isExecutable(Path.of(bin))) {
      throw new IllegalStateException(
          "set EPHEMERAL_BIN to the ephemeral binary (cargo build -p cli: target/debug/ephemeral); got " + bin);
    }
    return bin;
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** A base port with base..base+n−1 and base+100..base+100+n−1 free. */
  private static int freeBase(int n) {
    for (int attempt = 0; attempt < 200; attempt++) {
      int base = ThreadLocalRandom.current().nextInt(20000, 60000);
      boolean ok = true;
      for (int i = 0; i < n && ok; i++) {
        ok = free(base + i) && free(base + 100 + i);
      }
      if (ok) {
        return base;
      }
    }
    throw new IllegalStateException("no free ports found");
  }

  /** Starts {@code n} parties (insecure dealer tuples, for speed) and waits until they serve. */
  static DevCloud start(int n) throws Exception {
    Path dir = Files.createTempDirectory("ephemeral-java-it");
    int base = freeBase(n);
    ProcessBuilder pb =
        new ProcessBuilder(
                binary(), "dev", "-N", Integer.toString(n), "--dir", dir.toString(), "--port", Integer.toString(base), "--insecure-dealer")
            .redirectError(dir.resolve("dev.stderr").toFile());
    pb.environment().put("HOME", dir.toString());
    pb.environment().put("RUST_LOG", "warn");
    Process p = pb.start();
    // Never leave the cloud running behind a JVM that exits without closing it.
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
    DevCloud cloud = new DevCloud(dir, n, p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    String line;
    boolean up = false;
    while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
      if (line.contains("virtual cloud of") && line.contains("is up")) {
        up = true;
        break;
      }
    }
    if (!up) {
      cloud.close();
      throw new IllegalStateException("ephemeral dev did not come up: " + Files.readString(dir.resolve("dev.stderr")));
    }
    // Keep draining stdout so that the process never blocks on a full pipe.
    Thread drain =
        new Thread(
            () -> {
              try {
                while (out.readLine() != null) {
                  // discard
                }
              } catch (IOException ignored) {
                // the process ended
              }
            });
    drain.setDaemon(true);
    drain.start();
    // The parties connect to each other in the background: wait until every link is up.
    EphemeralClient c = cloud.client();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (c.health().stream().allMatch(h -> h.peers().stream().allMatch(Model.PeerHealth::connected))) {
          break;
        }
      } catch (EphemeralException e) {
        if (System.nanoTime() > until) {
          throw e;
        }
      }
      if (System.nanoTime() > until) {
        throw new IllegalStateException("the parties did not connect to each other within 60 s");
      }
      Thread.sleep(200);
    }
    return cloud;
  }

  EphemeralClient client() {
    return EphemeralClient.fromCloudFile(cloudFile);
  }

  CloudFile.Cloud cloud() {
    return CloudFile.load(cloudFile);
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
