// Reads a topic's messages with Kafka's own Java client and prints "<count> <sha256 of the values>",
// so tests can check that what kafkajs wrote (compressed by our codecs) is what Java reads.
//   java -cp "$TAILPLOW_KAFKA_LIBS/*" test/support/java/KafkaConsume.java BOOTSTRAP TOPIC COUNT
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class KafkaConsume {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int count = Integer.parseInt(args[2]);
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    int read = 0;
    long deadline = System.currentTimeMillis() + 60_000;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      TopicPartition partition = new TopicPartition(topic, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      while (read < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          sha.update(record.value());
          read++;
        }
      }
    }
    System.out.println(read + " " + HexFormat.of().formatHex(sha.digest()));
  }
}
