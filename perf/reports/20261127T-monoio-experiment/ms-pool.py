import re,statistics as st,glob
groups={'fixed-sync (step 1)':['ringway-ms-fixed'],'fixed-async':['ringway-ms-fixedasync','ringway-ms-final-fixedonly'],'multishot+fixed':['ringway-ms-multi','ringway-ms-multi2','ringway-ms-multi4','ringway-ms-final'],'multishot, no fixed':['ringway-ms-multi-nofixed']}
def load(files):
    out={g:[] for g in groups}
    for f in files:
        rows={}
        for l in open(f):
            m=re.match(r'(\d+) (\S+) req=(\d+) proxy=([\d.]+)us backend=([\d.]+)us ratio=([\d.]+) load=([\d.]+)',l)
            if m: rows.setdefault(int(m[1]),{})[m[2]]=float(m[6])
        for r,d in rows.items():
            for g,ns in groups.items():
                for n in ns:
                    if n in d: out[g].append(d[n]/d['ringway-base-398defe-copy'])
    return out
for label,files in [('keep-alive',['ms-step1-ab2.txt','ms-step12-ab2.txt','ms-run3-ab2.txt','ms-run4-ab2.txt','ms-run6-ab2.txt','ms-run8-ab2.txt','ms-run9-ab2.txt']),('Connection: close',['ms-run5-close.txt','ms-run7-close.txt'])]:
    print(label)
    for g,v in load(files).items():
        if v:
            q=st.quantiles(v,n=4) if len(v)>=4 else [0,0,0]
            print(f"  {g:22s} n={len(v):2d} median={st.median(v):.3f} IQR={q[0]:.3f}-{q[2]:.3f}")
