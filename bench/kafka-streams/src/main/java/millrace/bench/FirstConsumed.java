package millrace.bench;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Interceptor on Kafka Streams' main consumer(s): notes when the first records were handed to
 * a stream thread (the start of the measured interval) and counts the records consumed (shared
 * by all stream threads). Costs one count per poll, nothing per record.
 */
public final class FirstConsumed implements ConsumerInterceptor<byte[], byte[]> {
  private static final long UNSET = Long.MIN_VALUE;
  private static final AtomicLong FIRST_NS = new AtomicLong(UNSET);
  private static final AtomicLong CONSUMED = new AtomicLong();

  static long firstNs() {
    long t = FIRST_NS.get();
    if (t == UNSET) throw new IllegalStateException("no record was consumed (is the interceptor installed?)");
    return t;
  }

  static long consumed() {
    return CONSUMED.get();
  }

  @Override
  public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
    int n = records.count();
    if (n > 0) {
      FIRST_NS.compareAndSet(UNSET, System.nanoTime());
      CONSUMED.addAndGet(n);
    }
    return records;
  }

  @Override
  public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {}

  @Override
  public void close() {}

  @Override
  public void configure(Map<String, ?> configs) {}
}
