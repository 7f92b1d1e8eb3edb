import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.zookeeper.server.ExpiryQueue;
import org.apache.zookeeper.server.SessionTracker;
import org.apache.zookeeper.server.SessionTrackerImpl;

/**
 * ZooKeeper's own session tracker and expiry queue under the touches bench/zookeeper-touches
 * gives Tether's: SESSIONS sessions, touched in the order the file names (the same random
 * permutation for both), PASSES passes of one touch per session; prints one JSON line with
 * the median ns per touch (the first pass warms the JIT) and the heap per session after GCs.
 * Args: orderFile sessions passes tickTime timeout.
 */
public final class ZooKeeperTouches {
  public static void main(String[] args) throws Exception {
    int[] order = readOrder(args[0]);
    int sessions = Integer.parseInt(args[1]);
    int passes = Integer.parseInt(args[2]);
    int tickTime = Integer.parseInt(args[3]);
    int timeout = Integer.parseInt(args[4]);

    long before = usedHeap();
    SessionTrackerImpl tracker = new SessionTrackerImpl(
        new SessionTracker.SessionExpirer() {
          public void expire(SessionTracker.Session session) {}
          public long getServerId() { return 1; }
        },
        new ConcurrentHashMap<>(), tickTime, 1, (threadName, errorCode) -> {});
    long[] ids = new long[sessions];
    for (int i = 0; i < sessions; i++) ids[i] = tracker.createSession(timeout);
    double trackerBytes = (double) (usedHeap() - before) / sessions;
    double[] trackerNs = new double[passes];
    for (int pass = 0; pass < passes; pass++) {
      long start = System.nanoTime();
      for (int i = 0; i < sessions; i++) tracker.touchSession(ids[order[i]], timeout);
      trackerNs[pass] = (double) (System.nanoTime() - start) / sessions;
    }
    tracker.shutdown();

    Long[] elements = new Long[sessions];
    for (int i = 0; i < sessions; i++) elements[i] = Long.valueOf(ids[i]);
    tracker = null;
    before = usedHeap();
    ExpiryQueue<Long> queue = new ExpiryQueue<>(tickTime);
    for (int i = 0; i < sessions; i++) queue.update(elements[i], timeout);
    double queueBytes = (double) (usedHeap() - before) / sessions;
    double[] queueNs = new double[passes];
    for (int pass = 0; pass < passes; pass++) {
      long start = System.nanoTime();
      for (int i = 0; i < sessions; i++) queue.update(elements[order[i]], timeout);
      queueNs[pass] = (double) (System.nanoTime() - start) / sessions;
    }
    if (queue.getExpiryMap().isEmpty()) throw new IllegalStateException("the queue lost its sessions");

    System.out.printf(
        "{\"java\":\"%s\",\"trackerTouchNs\":%.2f,\"trackerBytesPerSession\":%.1f,"
            + "\"queueUpdateNs\":%.2f,\"queueBytesPerSession\":%.1f}%n",
        System.getProperty("java.version"), medianAfterFirst(trackerNs), trackerBytes,
        medianAfterFirst(queueNs), queueBytes);
  }

  private static int[] readOrder(String file) throws Exception {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(Paths.get(file))).order(ByteOrder.LITTLE_ENDIAN);
    int[] order = new int[bytes.remaining() / 4];
    bytes.asIntBuffer().get(order);
    return order;
  }

  private static long usedHeap() throws InterruptedException {
    Runtime runtime = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return runtime.totalMemory() - runtime.freeMemory();
  }

  private static double medianAfterFirst(double[] values) {
    double[] measured = Arrays.copyOfRange(values, 1, values.length);
    Arrays.sort(measured);
    int middle = measured.length / 2;
    return measured.length % 2 == 1 ? measured[middle] : (measured[middle - 1] + measured[middle]) / 2;
  }
}
