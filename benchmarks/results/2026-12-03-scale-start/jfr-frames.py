import re,collections,sys
txt=open(sys.argv[1]).read()
top=collections.Counter(); ours=collections.Counter(); n=0
for e in txt.split('jdk.ExecutionSample')[1:]:
    fr=re.findall(r'^\s+([\w.$<>]+)\(',e,re.M)
    if not fr: continue
    n+=1; top[fr[0]]+=1
    for f in fr:
        if f.startswith('ioasid.') and not f.startswith('ioasid.launcher'):
            ours[f]+=1; break
print('execution samples:', n)
print('\ntop frames (the method running):')
for k,v in top.most_common(15): print('%4d %5.1f%% %s'%(v,100*v/n,k))
print('\ninnermost ioasid frame:')
for k,v in ours.most_common(15): print('%4d %5.1f%% %s'%(v,100*v/n,k))
