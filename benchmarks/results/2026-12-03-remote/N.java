import java.io.*; import java.net.*; import java.util.*;
public class N {
  public static void main(String[] a) throws Exception {
    boolean nd = Boolean.parseBoolean(a[0]);
    ServerSocket ss = new ServerSocket(0);
    Thread t = new Thread(() -> { while (true) try (Socket s = ss.accept()) { s.setTcpNoDelay(nd);
        ObjectInputStream in = new ObjectInputStream(s.getInputStream()); ObjectOutputStream out = new ObjectOutputStream(s.getOutputStream());
        in.readObject(); in.readObject(); out.writeObject(Integer.valueOf(7)); out.flush(); } catch (Exception e) { } });
    t.setDaemon(true); t.start();
    long[] r = new long[200];
    for (int i = 0; i < 200; i++) { long t0 = System.nanoTime();
      try (Socket s = new Socket("127.0.0.1", ss.getLocalPort())) { s.setTcpNoDelay(nd);
        ObjectOutputStream out = new ObjectOutputStream(s.getOutputStream());
        out.writeObject("alloc"); out.writeObject(new Object[] {"sessiontoken-abcdefghijkl", 1, 1048575}); out.flush();
        new ObjectInputStream(s.getInputStream()).readObject(); }
      r[i] = System.nanoTime() - t0; }
    Arrays.sort(r); System.out.println("nodelay=" + nd + " median us " + r[100]/1000 + " p99 " + r[198]/1000);
  }
}
