import sys,statistics
# pairs.py FILE BASE NEW : same-round ratio pairs of ab4 output
rows=[l.split() for l in open(sys.argv[1]) if l.strip()]
d={}
for r in rows:
    kv=dict(x.split('=') for x in r[2:] if '=' in x)
    d.setdefault(r[0],{})[r[1]]=(float(kv['ratio']), float(kv['user']), float(kv['sys']))
base,new=sys.argv[2],sys.argv[3]
pairs=[v[new][0]/v[base][0] for v in d.values() if base in v and new in v]
up=[v[new][1]/v[base][1] for v in d.values() if base in v and new in v]
print('ratio pairs', ' '.join('%.3f'%p for p in pairs), 'median %.3f'%statistics.median(pairs), '| user median %.3f'%statistics.median(up))
