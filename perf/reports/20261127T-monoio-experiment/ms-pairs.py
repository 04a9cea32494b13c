import sys,re,statistics as st
for f in sys.argv[1:]:
    rows={}
    for l in open(f):
        m=re.match(r'(\d+) (\S+) req=(\d+) proxy=([\d.]+)us backend=([\d.]+)us ratio=([\d.]+) load=([\d.]+)',l)
        if m: rows.setdefault(int(m[1]),{})[m[2]]=(float(m[6]),int(m[3]),float(m[7]))
    names=[n for n in next(iter(rows.values())) if n!='ringway-base-398defe-copy']
    print(f)
    for n in names:
        pr=[(r,rows[r][n][0]/rows[r]['ringway-base-398defe-copy'][0]) for r in sorted(rows) if n in rows[r]]
        print(f"  {n}: pairs "+" ".join(f"{p:.3f}" for _,p in pr)+f"  median={st.median([p for _,p in pr]):.3f}")
