#!/usr/bin/env python3
"""The strict burst against the running local stack (./capstream up), from outside.

48 checks of $0.10 sent at the same moment to one sidecar against a fresh customer's $1.00 strict cap
that fails closed, 20 times, after 20 such bursts to warm the stack up. Exactly 10 must be admitted
each time (the rest 402) and none answered 503. Figures: docs/performance.md, "A strict burst".

  python3 deploy/scripts/strict-burst.py [--sidecar 8082] [--ingest 8080]
"""
import argparse, collections, http.client, json, os, threading, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
parser = argparse.ArgumentParser()
parser.add_argument("--sidecar", type=int, default=8082)
parser.add_argument("--ingest", type=int, default=8080)
parser.add_argument("--key-file", default=os.path.join(os.environ.get("CAPSTREAM_HOME", os.path.join(root, ".capstream")), "config", "dev-api-key"))
args = parser.parse_args()
HEADERS = {"Authorization": "Bearer " + open(args.key_file).read().strip(), "Content-Type": "application/json"}


def call(port, method, path, body):
    c = http.client.HTTPConnection("localhost", port, timeout=10)
    c.request(method, path, body=json.dumps(body), headers=HEADERS)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def burst(customer):
    """48 checks on 48 open connections, released together; the count of each status."""
    statuses, go = [None] * 48, threading.Event()
    conns = [http.client.HTTPConnection("localhost", args.sidecar, timeout=10) for _ in range(48)]
    for c in conns:
        c.connect()
    body = json.dumps({"customer": customer, "feature": "chat", "estimate": {"cost": "0.10"}})

    def one(i):
        go.wait()
        conns[i].request("POST", "/v1/check", body=body, headers=HEADERS)
        r = conns[i].getresponse()
        r.read()
        statuses[i] = r.status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return collections.Counter(statuses)


run = str(int(time.time()))
customers = [f"burst{run}w{i}" for i in range(20)] + [f"burst{run}m{i}" for i in range(20)]
for c in customers:
    status, answer = call(args.ingest, "PUT", f"/v1/customers/{c}/caps/hard", {"amount": "1.00", "strict": True, "fail_open": False})
    assert status == 200, answer
for c in customers:  # until the sidecar and the aggregator both know the strict cap (a $0 check reserves)
    while b'"reservation_id":"res_' not in call(args.sidecar, "POST", "/v1/check", {"customer": c, "feature": "chat", "estimate": {"cost": "0"}})[1]:
        time.sleep(0.05)
for c in customers[:20]:
    burst(c)
out = [burst(c) for c in customers[20:]]
exact = sum(1 for o in out if o[200] == 10 and o[402] == 38)
print(f"strict burst at sidecar :{args.sidecar}: exactly 10 admitted in {exact} of 20 runs, {sum(o[503] for o in out)} answers 503,"
      f" at most {max(o[200] for o in out)} admitted; allowed/402/503 per run: " + " ".join(f"{o[200]}/{o[402]}/{o[503]}" for o in out))
