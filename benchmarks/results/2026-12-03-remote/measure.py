# Drives a host and a guest runtime (separate JVMs on 127.0.0.1) and times, from outside:
# remote alloc+free latency (the guest's remote:latency), the guest noticing the host's departure
# (kill -9, and a graceful stop), and reconciling on its return.
import os, subprocess, threading, time, sys, hashlib, base64, shutil, socket, re
J = '/work/wt-remote/distribution/target/ioasid.jar'
ROOT = '/tmp/meas/run'
def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p
class RT:
    def __init__(self, d):
        self.d = d; self.lines = []; self.lock = threading.Lock()
        self.p = subprocess.Popen(['java', '-Dorg.osgi.service.http.port=%d' % free_port(), '-jar', J], cwd=d,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self.read, daemon=True).start()
    def read(self):
        for line in self.p.stdout:
            with self.lock: self.lines.append((time.monotonic(), line.rstrip('\n')))
    def send(self, c): self.p.stdin.write(c + '\n'); self.p.stdin.flush()
    def wait(self, text, since=0, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for t, l in self.lines[since:]:
                    if text in l: return t
            time.sleep(0.005)
        raise SystemExit('%s: no %r in %s' % (self.d, text, self.lines[-20:]))
    def n(self):
        with self.lock: return len(self.lines)
def sha(s): return '{sha-256}' + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
shutil.rmtree(ROOT, ignore_errors=True)
port = free_port()
os.makedirs(ROOT + '/host/deploy'); os.makedirs(ROOT + '/g1/deploy')
open(ROOT + '/host/deploy/ioasid.remote.host.config', 'w').write('port=I"%d"\nguests=["vm1=%s"]\n' % (port, sha('s1')))
open(ROOT + '/g1/deploy/ioasid.remote.guest.config', 'w').write('host="127.0.0.1:%d"\nname="vm1"\nsecret="s1"\n' % port)
host = RT(ROOT + '/host'); host.wait('host serving')
g = RT(ROOT + '/g1'); g.wait('guest vm1: connected')
out = open('/tmp/meas/latency.txt', 'w')
for i in range(3):
    k = g.n(); g.send('remote:latency 1000'); g.wait('alloc+free round trips', k, 600)
    with g.lock: line = [l for t, l in g.lines[k:] if 'round trips' in l][0]
    print(line); out.write(line + '\n')
out.close()
rows = ['kind,trial,noticed_ms,host_start_to_reconciled_ms,host_serving_to_reconciled_ms']
for trial in range(1, 6):
    for kind in ('kill9', 'stop'):
        k = g.n(); t0 = time.monotonic()
        if kind == 'kill9': host.p.kill()
        else: host.send('stop 0')
        t1 = g.wait('went away', k); host.p.wait()
        k = g.n(); s0 = time.monotonic(); host = RT(ROOT + '/host')
        s1 = host.wait('host serving'); s2 = g.wait('reconnected', k)
        row = '%s,%d,%.0f,%.0f,%.0f' % (kind, trial, (t1 - t0) * 1000, (s2 - s0) * 1000, (s2 - s1) * 1000)
        print(row); rows.append(row)
open('/tmp/meas/departure.csv', 'w').write('\n'.join(rows) + '\n')
for r in (g, host): r.send('stop 0')
for r in (g, host): r.p.wait(timeout=60)
