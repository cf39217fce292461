package millrace.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * One Kafka Streams instance running one of millrace's two benchmark topologies
 * (bench/lib/topologies.ts) over a preloaded input topic, measured as bench/engine-worker.ts
 * measures millrace: from the first record consumed to the moment every record of the input
 * was processed and its offset committed.
 *
 * <p>Done means: the application's committed offsets (read with an Admin client, i.e. what
 * the group coordinator holds — under exactly_once_v2 only offsets of committed transactions)
 * have reached the input's end offsets on every partition. Kafka Streams commits offsets only
 * after flushing the producer (at_least_once) or inside the transaction that also holds the
 * outputs and changelog writes (exactly_once_v2), so by then every output is written too.
 * The first record consumed is seen by a consumer interceptor on the main consumer; the
 * committed offsets are polled every 5 ms once that interceptor has counted as many records
 * as the input holds (before that, polling could not succeed).
 *
 * <p>Environment: APP (application.id), INPUT, OUTPUT, KIND (stateless | stateful),
 * GUARANTEE (at_least_once | exactly_once_v2), THREADS, BROKERS, STATE_DIR (fresh per run),
 * EXPECTED (records in the input; checked against its end offsets), COMMIT_INTERVAL_MS,
 * CACHE_MAX_BYTES (statestore.cache.max.bytes; Kafka Streams' default when unset),
 * DEADLINE_S (give up after this long; 900 by default).
 *
 * <p>Prints one JSON line on stdout: {"event":"done","seconds",...,"peakRssMiB"} (with
 * allConsumedSeconds: when the last record was handed over, to tell processing from the wait
 * for the last commit) or
 * {"event":"failed","error"} (and exits 1).
 */
public final class KafkaStreamsBench {
  private KafkaStreamsBench() {}

  public static void main(String[] args) throws Exception {
    String app = env("APP");
    String input = env("INPUT");
    long expected = Long.parseLong(env("EXPECTED"));
    long deadline = System.nanoTime() + Long.parseLong(envOr("DEADLINE_S", "900")) * 1_000_000_000L;
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env("BROKERS")))) {
      Map<TopicPartition, Long> end = endOffsets(admin, input);
      long total = end.values().stream().mapToLong(Long::longValue).sum();
      if (total != expected) {
        fail("input " + input + " holds " + total + " records, expected " + expected);
      }
      KafkaStreams streams = new KafkaStreams(topology(env("KIND"), input, env("OUTPUT")), config());
      streams.setUncaughtExceptionHandler(e -> {
        failure.compareAndSet(null, e);
        return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streams.start();
      try {
        long allConsumedNs = waitConsumed(total, deadline, failure);
        waitCommitted(admin, app, end, deadline, failure);
        long doneNs = System.nanoTime();
        long firstNs = FirstConsumed.firstNs();
        say(String.format(Locale.ROOT,
            "{\"event\":\"done\",\"seconds\":%.4f,\"records\":%d,\"consumed\":%d,\"peakRssMiB\":%.1f,"
                + "\"allConsumedSeconds\":%.4f,\"threads\":%s,\"guarantee\":\"%s\",\"java\":\"%s\"}",
            (doneNs - firstNs) / 1e9, total, FirstConsumed.consumed(), peakRssMiB(),
            (allConsumedNs - firstNs) / 1e9, envOr("THREADS", "1"), env("GUARANTEE"),
            System.getProperty("java.version")));
      } finally {
        // Leave the group, so the driver can delete it right away.
        streams.close(CloseOptions.groupMembershipOperation(GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(30)));
      }
    } catch (Exception e) {
      fail(e.toString());
    }
    System.exit(0);
  }

  /** The two topologies of bench/lib/topologies.ts. */
  static Topology topology(String kind, String input, String output) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, byte[]> s = b.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()));
    switch (kind) {
      case "stateless" -> s.mapValues(v -> Arrays.copyOf(v, Math.min(50, v.length)))
          .filter((k, v) -> v.length > 0)
          .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
      case "stateful" -> s.groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
          // A RocksDB store (the DSL's default) named "count": its changelog is <app>-count-changelog.
          .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("count")
              .withKeySerde(Serdes.String())
              .withValueSerde(Serdes.Long()))
          .toStream()
          .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      default -> throw new IllegalArgumentException("KIND must be stateless or stateful, not " + kind);
    }
    return b.build();
  }

  static Properties config() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, env("APP"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env("BROKERS"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, env("GUARANTEE"));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, envOr("THREADS", "1"));
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, env("COMMIT_INTERVAL_MS"));
    p.put(StreamsConfig.STATE_DIR_CONFIG, env("STATE_DIR"));
    String cache = System.getenv("CACHE_MAX_BYTES");
    if (cache != null && !cache.isEmpty()) p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, cache);
    p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG),
        FirstConsumed.class.getName());
    return p;
  }

  static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
    int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
    for (int i = 0; i < partitions; i++) specs.put(new TopicPartition(topic, i), OffsetSpec.latest());
    Map<TopicPartition, Long> end = new HashMap<>();
    admin.listOffsets(specs).all().get().forEach((tp, info) -> end.put(tp, info.offset()));
    return end;
  }

  /** Returns when (System.nanoTime) the main consumers had handed over `total` records. */
  static long waitConsumed(long total, long deadline, AtomicReference<Throwable> failure)
      throws InterruptedException {
    while (FirstConsumed.consumed() < total) {
      check(deadline, failure);
      Thread.sleep(5);
    }
    return System.nanoTime();
  }

  /** Returns once the group's committed offsets reach `end` on every partition. */
  static void waitCommitted(Admin admin, String group, Map<TopicPartition, Long> end, long deadline,
      AtomicReference<Throwable> failure) throws Exception {
    while (true) {
      check(deadline, failure);
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      boolean all = end.entrySet().stream().allMatch(e -> {
        OffsetAndMetadata c = committed.get(e.getKey());
        return c != null && c.offset() >= e.getValue();
      });
      if (all) return;
      Thread.sleep(5);
    }
  }

  static void check(long deadline, AtomicReference<Throwable> failure) {
    if (failure.get() != null) throw new IllegalStateException("stream thread died: " + failure.get(), failure.get());
    if (System.nanoTime() > deadline) throw new IllegalStateException("not done before DEADLINE_S");
  }

  /** Peak resident set of this JVM (VmHWM), in MiB. */
  static double peakRssMiB() throws Exception {
    Matcher m = Pattern.compile("VmHWM:\\s+(\\d+) kB").matcher(Files.readString(Path.of("/proc/self/status")));
    return m.find() ? Math.round(Long.parseLong(m.group(1)) / 102.4) / 10.0 : -1;
  }

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException(name + " is not set");
    return v;
  }

  static String envOr(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  static void say(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static void fail(String error) {
    say("{\"event\":\"failed\",\"error\":\"" + error.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"}");
    System.exit(1);
  }
}
