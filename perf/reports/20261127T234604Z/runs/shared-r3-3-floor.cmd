 wrk -t1 -c64 -d10s --latency http://127.0.0.1:8085/
