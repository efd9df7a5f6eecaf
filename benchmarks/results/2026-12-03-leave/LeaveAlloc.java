// The bytes a leaving VT-d instance with N attached PASIDs allocates on the thread that
// unbinds it (no busy threads, so every UNBIND is delivered there), per PASID, and how long it
// takes: eight leaves in a row in one small fleet. Run with the benchmarks jar of each side:
//   javac -cp benchmarks.jar LeaveAlloc.java && java -Xmx2g -cp benchmarks.jar:. LeaveAlloc 10000
import ioasid.bench.scale.Fleet;
import java.lang.management.ManagementFactory;
public class LeaveAlloc {
    public static void main(String[] a) throws Exception {
        com.sun.management.ThreadMXBean tm = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int n = Integer.parseInt(a[0]);
        try (Fleet f = new Fleet(16, 200_000)) {
            int next = 1;
            for (int r = 0; r < 8; r++) {
                int index = next + (1 - next % 3 + 3) % 3; next = index + 1;
                Fleet.Instance big = f.create(index);
                f.bind(big);
                f.attach(big, n);
                long before = f.watchedUnbinds();
                int w = f.watch(big);
                System.gc();
                long b0 = tm.getThreadAllocatedBytes(Thread.currentThread().getId());
                long t0 = System.nanoTime();
                f.unbind(big);
                long t1 = System.nanoTime();
                long b1 = tm.getThreadAllocatedBytes(Thread.currentThread().getId());
                System.out.printf("leave %d: %.2f ms, %d UNBIND, %.0f bytes/PASID%n", r, (t1-t0)/1e6, f.watchedUnbinds()-before, (b1-b0)/(double)n);
                f.release(big);
            }
        }
    }
}
