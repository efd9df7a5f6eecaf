import ioasid.bench.*;
import java.lang.management.*;
import java.util.*;
import java.util.concurrent.atomic.*;
/** Alternates 1-thread and 2-thread rounds of alloc+free (1k live) on one core space; prints the two/one ratio per pair of rounds. */
public class H {
  static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
  static double[] round(CoreSpace s, int threads, long ms) throws Exception {
      long[] counts = new long[threads * 16]; long[] cpu = new long[threads * 16];
      AtomicBoolean stop = new AtomicBoolean();
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) { final int k = t;
        ts[t] = new Thread(() -> { long c0 = MX.getCurrentThreadCpuTime(); long n = 0; while (!stop.get()) { for (int j=0;j<100;j++){ Object h = s.alloc(1, IdSpace.MAX); s.free(h);} n+=100; } counts[k*16] = n; cpu[k*16] = MX.getCurrentThreadCpuTime() - c0; });
      }
      for (Thread t : ts) t.start();
      Thread.sleep(ms); stop.set(true);
      for (Thread t : ts) t.join();
      long tot = 0, c = 0; for (int t = 0; t < threads; t++) { tot += counts[t*16]; c += cpu[t*16]; }
      return new double[] {tot / (ms * 1e3), tot / (c / 1e3)};
  }
  public static void main(String[] a) throws Exception {
    int n = a.length > 0 ? Integer.parseInt(a[0]) : 10;
    CoreSpace s = new CoreSpace();
    for (int i = 0; i < 1000; i++) s.alloc(1, IdSpace.MAX);
    round(s,1,500); round(s,2,500);
    List<Double> r = new ArrayList<>(); List<Double> one = new ArrayList<>(), two = new ArrayList<>(), cpu1 = new ArrayList<>(), cpu2 = new ArrayList<>();
    for (int i = 0; i < n; i++) { double[] o = round(s,1,500), t = round(s,2,500); r.add(t[0]/o[0]); one.add(o[0]); two.add(t[0]); cpu1.add(o[1]); cpu2.add(t[1]); }
    System.out.println(String.format("pairs/us one %.1f two %.1f  two/one median %.2f (%.2f-%.2f)  pairs per CPU-us one %.1f two %.1f",
        med(one), med(two), med(r), Collections.min(r), Collections.max(r), med(cpu1), med(cpu2)));
  }
  static double med(List<Double> l) { List<Double> c = new ArrayList<>(l); Collections.sort(c); int n = c.size(); return n % 2 == 1 ? c.get(n/2) : (c.get(n/2-1)+c.get(n/2))/2; }
}
