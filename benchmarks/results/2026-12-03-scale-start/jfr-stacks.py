import re,collections,sys
txt=open(sys.argv[1]).read()
evs=txt.split('jdk.ExecutionSample')
keys=['IommuCommands.await','Backends.bind','ConfigFiles.existing','ConfigFiles','PhysMem.alloc','CdTable.ensureLeaf','PasidTable.<init>','IommuInstancesCheck','org.apache.felix.scr','org.apache.felix.cm','org.apache.felix.framework','fileinstall','ioasid.backend','ioasid.core','Log.log','LoggerAdmin','ioasid.health']
c=collections.Counter(); n=0
for e in evs[1:]:
    fr=re.findall(r'^\s+([\w.$<>]+)\(',e,re.M)
    if not fr: continue
    n+=1
    s=' '.join(fr)
    for k in keys:
        if k in s: c[k]+=1
print('samples',n)
for k in keys: print('%5d %5.1f%% %s'%(c[k],100*c[k]/n,k))
