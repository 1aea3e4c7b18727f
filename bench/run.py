"""`make bench`: start the stack, seed it, measure its figures (1–10), write bench/results.md and results.png.

    python bench/run.py [--seconds 5] [--warmup 2] [--rounds 5] [--zipf-seconds 60] [--only 1,2] [--no-profiles]
    python bench/run.py --compare    # the last full run beside the one before, from bench/history.json

Short durations make a dry run (`--seconds 1 --warmup 0 --rounds 1 --zipf-seconds 5`); the results files are
then written to bench/results/ instead and the history is left alone, so a dry run never overwrites the real
ones. A full run adds its ratios to bench/history.json. Logs of every process of the stack are kept in
bench/results/logs/ when a run fails (or with --keep-logs).
"""

import argparse
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench import baseline as bench_baseline  # noqa: E402 — the project must be on the path first
from bench import history  # noqa: E402
from bench.stack import LOAD_CPUS, STACK_CPUS, Stack, new_workdir, parse_cpus, remove_workdir  # noqa: E402

FIGURES = {
    1: "stack_efficiency",
    2: "local_cache_speedup",
    3: "remote_cache_speedup",
    4: "miss_penalty",
    5: "hit_rate",
    6: "hot_sailing",
    7: "webhook_ack",
    8: "background_latency",
    9: "lifecycle_cpu",
    10: "calendar_month",
}

# What the table cannot say: why a target is missed and what would close it. Kept with the numbers they explain.
NOTES = {
    1: (
        "Why: `/livez` touches nothing but the process. A hit costs no Redis round trip: the web process's copy of "
        "the answer is dropped when Redis says its entry changed (CLIENT TRACKING in broadcasting mode on a "
        "connection of the process's own, its socket polled before a copy is used: ferries/cache/first_level.py); the"
        " `anon` and `user` limits of a client that comes back within a second are decided in the process on places "
        "Redis set aside for it in the client's windows (kernel/throttling.py, `CountedAhead`), exact however many "
        "processes. Before that, one round trip a hit: 0.68–0.70 in full runs; with it, 0.78 and 0.79. This round, "
        "profiled on a hit (py-spy under wrk, and in one process): under gunicorn's four threads a process's lookups "
        "queued on the copies' connection's lock (3 % of the web samples in `Listener.listening`, 3 % in the socket's"
        " poll) while the thread holding it waited for the GIL inside it; the socket is now polled without the lock "
        "(a poller per thread; a reader marks that it reads before it reads). And a hit made its two throttles twice,"
        " keyed them three times and worked out the client's address three times: now once each. A hit in one process"
        " 337 → 329 µs against the bare view's 289; figure 1 alone 0.88 → 0.95 in partial runs on the same machine "
        "the same hour. What is left: the view's own Python (the query read from the string, the answer's key, DRF's "
        "Request and throttles), about 40 µs, and a round trip per 100 requests per process for the places (Redis 540"
        " µs each, mostly the windows' sorted sets: a member per request). The pairs on 43c3c38 and 2073cf4, on a "
        "machine slower than in the pairs before (speed probe 32–34 ms over each run against 21–29): 0.90 and 0.74, "
        "0.94 and 0.83. This round django-prometheus's middleware records only the families the dashboard and alerts "
        "read (kernel/request_metrics.py): its full set cost a request 95 µs of some 510 in one process (measured "
        "with and without it, alternating); under gunicorn the cached month rose only 1,528 → 1,612 requests/s (+5 %,"
        " partial runs alternating with 6dc3afe). Why so little, measured beside it (one gunicorn worker, wrk's 8 "
        "connections): a cached month costs the worker 1.41–1.48 ms of CPU with four threads and 1.09–1.12 ms with "
        "one (the sync worker, a connection a request), where Django's own part is 0.5 ms in a loop; with four "
        "threads the worker makes some 60 futex calls a request (the GIL handed between its threads and its main "
        "loop). That part of a hit is gunicorn's and the interpreter's; three workers of 2 or 4 threads, or 4 or 6 of"
        " 2, served the same within ±8 %. The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as "
        "fast (speed probe 14.6 ms): 0.86, 0.88, 0.86, 0.86, 0.89 and 0.90 — met in all six, within ±15 % in each "
        "pair. This round a request pays less of Django and DRF (figure 10's note): /livez 208 → 186 µs of CPU in one"
        " process, a cached search 246 → 209, so the hit's share over the bare view is smaller too."
    ),
    2: (
        "Both halves of the target pull against each other: the uncached search became twice as cheap, which is what "
        "the second half asks and what lowers the speed-up. Cache off, a day's search of our own inventory is three "
        "queries (the routes with their operators and ports, the day's sailings with their vessels and inventory — "
        "the inventory as a JSON column, no second query — and the fares with their price rows), each compiled to "
        "SQL once per process (`kernel/compiled.py`) instead of at every request; EXPLAIN ANALYZE on the demo "
        "network: each executes in 0.07–0.21 ms using its indexes, after 0.4–0.7 ms of planning, which PostgreSQL "
        "now spends more on than on running them (prepared statements would save it: psycopg 3 with server-side "
        "binding, a change of driver of its own). CPU per uncached search on the test client: 14.9 ms → 6.8 ms; in "
        "the first run of this round 126 → 261 requests/s, 0.056× → 0.108× the bare view, with the speed-up at 5.2× "
        "(rounds 4.9–5.3×). What is left of an uncached search: pricing every party and fare family of every "
        "sailing, the answer's JSON, DRF and the middleware, and PostgreSQL's own CPU on the same two cores. The "
        "cached side is bounded by figure 1. Met since the hit is sent before DRF's request cycle (6.3× in a partial "
        "run; uncached 0.11× the bare view). The second half missed since by little: 0.098× and 0.092× in the last "
        "pair (266 and 223 requests/s against a bare view of 2,717 and 2,428). Where an uncached search's CPU goes "
        "(py-spy, samples with the GIL held, the same search 1,500 times in one process with the cache off): "
        "computing the leg 71 % — the day's search of our own inventory 44 % (the sailings read 16.5 %, the fares "
        "with their price rows made into models 16 %, each sailing's row with its quotes 13 %, the quotes' wire "
        "dicts alone 8 %), the routes 9 % — the answer's JSON 7 %, DRF, the middleware and the rest 22 %. Since, a "
        "day's sailings under one fare are priced once (their quotes, extras and accommodations' prices were made "
        "again for each sailing) and a row's price is the wire form of its own fare rather than a second one: in a "
        "partial run after the pair (figures 1, 2 and 4, the same hour) uncached 305 requests/s = 0.116× the bare "
        "view's 2,633, the speed-up 7.9×: both halves met there. Confirmed in the next full pair (51a8541): uncached "
        "371 and 333 requests/s = 0.118× the bare view both times (3,133 and 2,818), the speed-up 7.4× and 7.8×. "
        "What is left: the fares' rows made into models. The pair on 3418f4e, on a machine a half slower (speed "
        "probe 29 ms against 19): 5.9× and 6.7×, the uncached side 297 and 349 requests/s (0.16× and 0.14× the bare "
        "view): full garbage collections no longer walk what a web worker loaded (ceb64e2), which speeds up most the "
        "side that allocates most. The pair on 1d5a56e: 6.9× and 7.2× (uncached 346 and 306 requests/s). The pair on "
        "43c3c38: 7.0× and 7.3×, the uncached search 0.13× and 0.082× the bare view (the second run's /livez at "
        "2,402 requests/s against 1,782 in the first, its uncached search at 197: that half missed once); the pair "
        "on 2073cf4: 7.4× and 7.2×, 0.12× in both."
    ),
    3: (
        "Without the cache each search waits for the operator (the simulator answers in 150 ms), so the uncached side"
        " serves connections ÷ the time each search waits (Little's law), 38–41 requests/s with wrk's 8 connections "
        "whatever the CPU, while the cached side is CPU-bound. The physical bound: a cached search can serve no more "
        "than the bare view itself (figure 1's B: 2,922 and 2,809 requests/s in the last pair, a779d1c), which "
        "against the 41 requests/s uncached in both its runs gives 69–71× at most (measured: 63.5× and 62.5×, the "
        "cached side at 2,607 and 2,565; 70.5× and 61.8× in the pair before); 100× needs a cached side of 4,100 "
        "requests/s, more than Django serves for a view that does nothing on these two cores. The latency ratio (p50,"
        " in the details) is what a traveller sees. What would close the requests/s ratio: more cores, or more "
        "concurrent clients than the uncached side has threads. The pair on 9478227, on a slower machine (speed probe"
        " 19–20 ms): the bare view 2,380 and 2,286 requests/s, the uncached side 39 and 37, so 61× and 62× at most; "
        "measured 47.1× and 49.9× (the cached side at 1,823 and 1,865). The pair on df2bfb9: bare view 2,152 and "
        "2,476, uncached 39 and 42 (55× and 59× at most), measured 57.4× and 59.6×: the cached side served as much as"
        " the bare view did. The pair on 3418f4e (speed probe 29 ms): bare view 1,866 and 2,554, uncached 37 and 35 "
        "(50× and 73× at most), measured 44.7× and 56.1×. The pair on 1d5a56e: bare view 2,506 and 2,293, uncached 41"
        " and 38 (61× and 60× at most), measured 50.7× and 49.1×. The pairs on 43c3c38 and 2073cf4: 44.0× and 43.9×, "
        "43.4× and 42.9×, against at most 47×, 71×, 45× and 55× (bare view ÷ uncached), the uncached side at 34–39 "
        "requests/s. The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast (speed probe "
        "14.6 ms in all four runs, against 32–34): 73.9× and 73.6×, 78.5× and 69.0×, 72.9× and 69.5×, the bare view "
        "at 3,448–3,703 requests/s and the uncached side at 40–47 (Little's law, whatever the CPU), so 75×–90× at "
        "most; the cached search served 0.86–0.90 of the bare view. A faster machine raises the bound and the figure "
        "with it; 100× would need the cached side at 4,000–4,500 requests/s, more than the bare view serves on these "
        "two cores."
        " The pair on cdfc18e (speed probe 19 ms): 72.9× and 70.4×, the bare view at 3,403 and 3,052 requests/s, the "
        "uncached side at 42 and 43 (81× and 71× at most). With one web thread a process (BENCH_GUNICORN_THREADS=1, a"
        " full run) the figure read 147×, but only because the uncached side fell to 12 requests/s: three threads for"
        " wrk's eight connections, each search holding its thread 150 ms for the operator — the cache no faster, the "
        "site slower without it."
        " The pair on b2b7ec9: 69.0× and 63.0× (the uncached search's p50 192 and 211 ms; the second run on a "
        "machine a tenth slower, speed probe 17.3–19.0 ms against 15.7–17.5)."
        " The pair on dae679e: 62.7× and 64.7× (the uncached side 38 and 36 requests/s)."
    ),
    4: (
        "Its rounds compare like with like (both sides search the same slice of queries, in the same order: a day "
        "with nothing to book costs more, since the days around it are searched too). This round the days around a "
        "day with nothing to book are looked up, their locks taken, in one round trip, and their sailings' "
        "availability read in one more: such a miss 7 round trips → 4 (11 → 5 when those days were kept already), "
        "3.70 → 3.41 round trips a miss on average on the test client (the same 150 distinct misses). Two full runs "
        "back to back gave 1.12 and 1.22, two partial runs after them 1.11 and 1.24; the figure now shows each side's"
        " CPU per request by process (in its details; the two full runs were made before it), which locates the "
        "drift: in the two partial runs, the same queries cost the cache-miss side's web processes 7.03 and 7.61 ms a"
        " request and Redis 0.49 and 0.55 ms, the no-cache side's 6.35 and 6.27 ms and 0.12 ms; PostgreSQL 2.16–2.27 "
        "ms on both sides. So a miss adds 0.7–1.3 ms of the web process's CPU (storing the legs', the availability's "
        "and the answer's JSON with their indexes, and the writes' arguments) and 0.4 ms of Redis's, and it is the "
        "web side of that which moves from run to run; why the same requests cost 8 % more in one run than in another"
        " is not proven. Not the garbage collector (measured on the test client: the same collections and pauses both"
        " ways). What is seen: on an idle machine a PING's CPU on the client side moved between 42 and 57 µs over 40 "
        "seconds (3,000 each, every 5 s) while a loop of pure Python moved 2 %: on this VM a system call's cost "
        "moves, and the cache-miss side makes 3.4 round trips a request to the other's one. On this closed loop the "
        "p50 ratio follows the ratio of all processes' CPU per request on the two shared cores: 1.10 needs the "
        "cache-miss side within 0.9 ms of the other, about 0.5 ms less than now. Last pair: 1.36 and 1.16, the "
        "cache-miss side's web 9.80 ms a request against 7.43 (run A). Measured since in one process on the bench's "
        "data (300 distinct misses a side, the cache's Redis emptied before each, both orders, three slices): a miss "
        "costs 0.6–2.5 ms more CPU than the same search with the cache off, depending on the slice (days with nothing"
        " to book, whose neighbouring days are searched and kept too, cost most); computing the legs costs the same "
        "on both sides (py-spy, samples with the GIL held: 3,491 against 3,464), so the difference is keeping them: "
        "the Redis client's work for about 3.4 round trips carrying the legs', the availability's and the answer's "
        "JSON (packing, sending, redis-py's handling of each command: about a tenth of the miss side's samples), the "
        "entries' JSON and keys, the locks' tokens (uuid1). Not the process's copies nor their listener (the same "
        "with SEARCH_ANSWER_LOCAL_TTL=0), not the garbage collector (0.15 ms a request both ways). The no-cache side "
        "pays no Redis round trip at all now (its rate limits decided in the process on places set aside: 0.04 ms of "
        "Redis a request), where a miss must go to Redis anyway. This round (51a8541) a miss keeps all it made and "
        "gives its locks back in one command (the legs', the availability's and the answer's writes were three EVALs "
        "each sending the whole script, and each lock one more), the entries' JSON is made by orjson (a leg's search "
        "52.8 → 4.1 µs), the locks' tokens come from `secrets`, and a thread makes its Redis client wrapper once: in "
        "one process (300 distinct misses a side) a miss's CPU over the no-cache side 1.06–1.16 → 0.93 ms. The pair "
        "that followed: 1.18 and 1.20 (the next, a779d1c: 1.22 and 1.19), rounds 1.12–1.30; CPU per request, cache "
        "miss against no cache: web 6.78 / 5.66 and 7.07 / 6.08 ms, Redis 0.54 / 0.04 and 0.51 / 0.04 ms, PostgreSQL "
        "2.24 / 2.34 and 2.42 / 2.48 ms: a miss adds 1.4–1.6 ms to 7.8–8.6 ms. Where that goes (one process, CPU per "
        "miss): the rate limits' round trip, which carries the answer's lookup where the no-cache side decides them "
        "in the process, 0.17 ms; the legs' lookup taking their locks (1.45 round trips) 0.20 ms; keeping it all (one"
        " command of about 57 arguments and 19 keys, 13.6 KB) 0.19 ms; the entries' JSON and the answer's key and "
        "note 0.15 ms. A round trip alone costs this client 55 µs of CPU (a PING, 2,000 in a loop), and Redis runs "
        "0.37 ms of commands per miss (INFO commandstats: the three scripts 0.25 ms, of which keeping 70 µs — its 40 "
        "writes 22 µs, large arguments 25 µs, the Lua around them 15 µs), plus its system calls on the same two "
        "cores. The floor of this design — three round trips (the limits with the answer's lookup, the legs' lookup "
        "with their locks, the keeping) and the writes themselves, none of which the no-cache side makes — is about "
        "1.0 ms (0.56 ms of the client's CPU in those round trips, 0.47–0.50 ms of Redis's) on 7.8–8.6 ms of the "
        "no-cache side: 1.12 at best, above 1.10 whatever is trimmed within it. This round (00c374f) a miss makes "
        "two: the answer's lookup is a script of the cache's, sent right after the limits' in their round trip (or "
        "alone, the limits decided in the process on places set aside), which, finding no answer, looks the legs up "
        "and takes their locks; and the keys no longer deep-copy the party six times a miss (a return search's keys "
        "153 → 51 µs, 291961a). It shows less than hoped: the no-cache side had been making the answer's and the "
        "legs' keys for a lookup it never sent (0.2 ms a request, now gone), which flattered the ratio. CPU per "
        "request, cache miss against no cache, in two partial runs and the pair on fc82375: web 6.70 / 5.78, 6.37 / "
        "5.18, 7.44 / 5.58 and 6.30 / 5.44 ms, Redis 0.38–0.46 against 0.02–0.03 ms (ratios 1.16, 1.19, 1.38, 1.19); "
        "the pair on 0eddf10: 1.20 and 1.25, web 7.08 / 5.81 and 7.25 / 5.89 ms, Redis 0.43 / 0.03 both. Where the "
        "web's share goes (py-spy on both sides under this load, 1,509 misses against 1,778 searches with the cache "
        "off, samples holding the GIL): keeping 0.36 ms a miss, the lookup's round trip 0.18–0.31 ms, reading what "
        "Redis told of the answers' changes 0.13 ms (every answer any process keeps is told to each), the "
        "availability's entries 0.12 ms; and redis-py 8.1 spends 0.12 ms a command taking a connection from its pool "
        "(a deprecation wrapper, a check that the socket is empty, observability hooks that look for a collector at "
        "every call when none is configured) and 0.06 ms giving it back. The miss side's web CPU drifts from run to "
        "run (6.3–7.4 ms for the same queries) by more than the gap to the target, unexplained. This round (420d9b6) "
        "the request path's round trips go on a connection each thread keeps (kernel/redis_lane.py) instead of one "
        "taken from redis-py's pool and given back at each command: a round trip of two commands costs the client "
        "55–60 µs of CPU against 100–110 µs (one thread), which on a whole miss is within the noise (one process, "
        "1,000 misses a side: +0.01 ms of 8). Where a miss's cost goes, measured again in one process (2,500 distinct"
        " misses a side, the same queries; py-spy, samples holding the GIL): 1.44 ms of the web's CPU over the "
        "no-cache side — the round trips 0.48 ms (two a miss, and one for the nearby days' legs of a day with nothing"
        " to book), the entries' JSON and keys 0.27, packing the keeping's command 0.26, the answer's and legs' keys "
        "for the lookup 0.23, the limits decided with the lookup 0.17 — and Redis 0.66–0.74 ms a miss (its process's "
        "CPU), the keeping script 0.28–0.33 ms of it (SLOWLOG at 0). Inside a Lua script a ZADD costs Redis 4–11 µs "
        "where the same ZADD sent on its own costs about 1 µs (1,000 each way, one member, the same sorted set); but "
        "the keeping's forty-odd writes sent as plain commands in MULTI/EXEC cost Redis as much in all (0.70 ms a "
        "miss both ways: parsing and queueing forty commands takes what the Lua took) and the web more, so the script"
        " stays. The floor of this design on these two cores: the no-cache side's 9.3–9.5 ms of CPU a request (all "
        "processes) plus, for a miss, Redis's 0.5–0.7 ms and the client's 1.2–1.4 ms for two round trips carrying the"
        " lookup and about 14 KB of writes — 1.18–1.22 at this closed loop's p50, which follows the ratio of CPU per "
        "request. What would close it: Redis on a core of its own (its CPU then no longer adds to the request's on "
        "the shared two), or keeping less (each entry's three indexes and the answers' sets serve clearing and "
        "figures, not lookups). This round (36ee731) nothing is written beside an entry for clearing or counting: "
        "each key names the searches the entry is made of (keys.made_of), and clearing and the entry counts read the "
        "keys (SCAN); a miss's keeping script lost the three sorted-set indexes of each entry with their pruning and "
        "expiry (about half its commands), the keys' canonical JSON is made by orjson and the Prometheus twins of the"
        " cache's counters are looked up once. Redis's CPU per miss 0.50 → 0.28–0.38 ms (partial runs and the pair); "
        "two partial runs gave 1.09 and 1.09, the pair 1.06 and 1.14 (rounds 1.02–1.22), CPU per request cache miss "
        "against no cache 8.83 / 7.77 and 8.53 / 7.58 ms: a miss adds 0.95–1.06 ms (1.4–1.6 before). A partial run "
        "without the web processes' copies (SEARCH_ANSWER_LOCAL_TTL=0: no changes told to read) gave 1.15, so the "
        "listener is not what is left. What is left — two round trips a miss, and Redis's writes of the entries, the "
        "answers' sets and the counts — is within this closed loop's spread from run to run (the no-cache side's own "
        "CPU per request 7.25–8.06 ms across the partial runs): the figure sits at its target, met in one run of the "
        "pair and missed by 0.04 in the other. This round (cb0166f) a lookup with no copy to use leaves what Redis "
        "said of the answers' changes unread, and the process that kept an answer reads it as its keeping is sent: "
        "each process used to read, at its next lookup, the change of every answer any process kept (in one process, "
        "another keeping an answer before each lookup: 39–50 µs a lookup reading it, 22 µs leaving it). The pair on "
        "it, on a faster machine (the bare view 4,242 requests/s against 2,805): 1.09 and 1.18 (rounds 1.01–1.23); "
        "CPU per request, cache miss against no cache, 7.17 / 6.69 and 6.33 / 5.52 ms: a miss adds 0.48–0.81 ms "
        "(0.95–1.06 in the pair before), the web 0.42–0.51 ms of it and Redis 0.24–0.27, while the no-cache side's "
        "own CPU per request moved 18 % from one run to the other. Still at its target, met in one run and missed in "
        "the other. This round (8d10221) the system calls: counted with strace on the test client, a search answered "
        "from a miss made some 67 more than the same search with the cache off (30 polls, 10 reads, 8 writes, 18 "
        "reads of the process id, 1.6 of the kernel's random source), and a read that waits for Redis costs the "
        "client 100–140 µs of CPU in a request's path against 40 µs in a loop (the thread put to sleep and woken, its"
        " caches cold). Now the keeping is sent without waiting for Redis's answer (read once the response has gone, "
        "or with the thread's next round trip), the kept connections' sockets block with their timeouts kept by the "
        "kernel (Python's own polls before every send and read), and the process id and the locks' tokens are read "
        "once a process. In one process (400 distinct misses a side, alternating): a miss's CPU over the no-cache "
        "side 707–733 → 530–555 µs, Redis's 304–313 → 285–297 µs. The pair on it, on a slower machine (speed probe "
        "17.2 and 17.3 ms against 12.8–13.3): 1.07 and 1.11 (rounds 1.04–1.20); CPU per request, cache miss against "
        "no cache, 9.02 / 8.31 and 9.79 / 8.74 ms (web 6.32 / 5.79 and 6.83 / 6.18, Redis 0.35 and 0.36 against 0.04 "
        "and 0.05): a miss adds 0.71–1.05 ms on this machine. At its target still: met in the first run, missed by "
        "0.01 in the second. This round (9478227) a day whose days around have no sailing to search no longer sends a"
        " lookup for none of them (the counter alone: 11 % of the lookups of days around among the bench's misses). "
        "The pair on it, on a slower machine still (speed probe 19–20 ms, up to 30 while other work ran in the first "
        "run): 1.08 and 1.12 (rounds 1.03–1.34); CPU per request, cache miss against no cache, 11.21 / 10.12 and "
        "11.93 / 10.17 ms (web 8.16 / 7.33 and 8.73 / 7.50, Redis 0.38 / 0.03 and 0.43 / 0.04, PostgreSQL 2.66 / 2.69"
        " and 2.77 / 2.60): a miss adds 1.09 and 1.76 ms. The last four pairs: 1.06 / 1.14, 1.09 / 1.18, 1.07 / 1.11 "
        "and 1.08 / 1.12 — the second run above the first each time, the cause not found (each run has its own "
        "database, Redis servers and processes) — 1.11 on average: the figure sits at its target. What the parts cost"
        " on this machine, measured alone (3,000 PINGs on one connection): sending a command 14–20 µs of the client's"
        " CPU, reading its answer 10–12 µs, Redis 25–30 µs; a miss makes two such exchanges more than a search with "
        "the cache off (one more for a day with nothing to book), and in one process it adds 0.5–0.55 ms in all. "
        "Under the closed loop the web side of that doubles or triples (0.83 and 1.23 ms here): each read that waits "
        "for Redis is a thread put to sleep and another woken, with the GIL handed over between four threads of a "
        "process on two cores others share. Measured and left (each under 2 % of a miss's extra): the keeping's "
        "writes as plain commands in MULTI/EXEC instead of a script (Redis 25–40 µs less a miss on the bench's misses"
        " replayed, the client 17 µs more packing them), Redis over a Unix socket instead of TCP (about 40 µs less a "
        "miss, both sides together). The pair on df2bfb9: 1.18 then 1.05 (CPU a request, miss against no cache, 10.81"
        " / 9.25 and 9.84 / 8.41 ms: a miss adds 1.56 and 1.43 ms) — the first run above the second this time, so the"
        " order of the runs is not what moved the last four pairs; over the last five pairs the figure averages 1.11."
        " The pair on 3418f4e, on a machine a half slower (speed probe 29 ms against 19): 1.14 then 0.94 (rounds "
        "0.86–1.34), outside ±15 % of each other. The pair on 1d5a56e: 1.14 then 1.05 (rounds 0.97–1.16 and "
        "0.99–1.12). The pairs on 43c3c38 and 2073cf4, on a machine a third slower again (speed probe 32–34 ms): 1.09"
        " then 1.14, 1.12 then 1.21 — met once in four, the second run of each pair the higher, as in four of the "
        "last six pairs. The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast (speed probe"
        " 14.6 ms): 1.12 and 1.12, 1.07 and 1.08, 1.09 and 1.06 — met in both runs of the last two pairs. CPU per "
        "request, cache miss against no cache, alike in all six: 7.09–7.26 ms against 6.42–6.65 (web 4.95–5.07 "
        "against 4.53–4.62, Redis 0.28–0.29 against 0.03–0.04, PostgreSQL 1.85–1.90 against 1.93–2.02): a miss adds "
        "0.58–0.68 ms, 10 % of the no-cache side's CPU, and the latency ratio moves around that within the closed "
        "loop's spread (this round's changes take the same CPU off both sides of this figure)."
        " The pair on dae679e, on a machine slower again (speed probe 17.4–18.6 ms): 1.09 and 1.11 (rounds "
        "1.05–1.17 and 1.04–1.15), missed by 1 % in the second run (a miss 40.9 ms, the same search without the "
        "cache 36.8): on this machine the target's edge."
    ),
    5: (
        "Over a fixed minute the hit rate is 1 − (distinct queries asked ÷ searches made): the first ask of each "
        "query is a miss, so the figure rises with the searches the machine serves in the minute, mostly spent on "
        "those first asks. Misses now cost half as much CPU (figure 2): 0.86 in the first run of this round, "
        "0.77–0.78 before. The availability hit rate stays near 0.99 and no sale is ever made from a stale answer. "
        "The beat task that warms the most asked answers before they expire (`warm-popular-searches`) does not run in "
        "the bench stack (no beat), so it does not show here."
    ),
    6: (
        "A hot sailing books nearly as fast as a hundred sailings, so its inventory row lock is not the limit. A hold"
        " is eight statements and its transaction (the sailing with its route, ports, operator and vessel in one read"
        " compiled once per process, its fare with every price row in another, the booking with its totals, the "
        "places, the hold, the leg, the passenger, the event); the answer is made of the rows written, by reader and "
        "serializer built once per process. A hold's CPU on the test client: 11.7 ms → 9.3 ms this round; 129 holds/s"
        " in the first run (76–111 before). The absolute rate is CPU shared with PostgreSQL, Redis and wrk on two "
        "cores, so it follows the machine's speed in the run (the hundred sailings of the B side move alike). What "
        "would close it for good: a database with cores of its own. The pairs on 43c3c38 and 2073cf4: 107 and 92, "
        "then 108 and 97 holds a second on one sailing (ratios 0.89, 0.87, 0.81, 0.88; never an oversell): under 100 "
        "in the second run of each pair, on the slowest machine these runs have had (speed probe 34 ms against 21–29 "
        "when 119–134 were measured). The figure is CPU-bound: holds a second on one sailing follow the machine's "
        "speed. The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast (speed probe 14.6 "
        "ms): 206, 205, 201, 195, 198 and 193 holds a second on one sailing (ratios 0.86–0.87), never an oversell — "
        "met in all six, twice the target, as a CPU-bound figure follows the machine's speed. In one process a hold "
        "now costs the web 4.45 ms of CPU and PostgreSQL 1.9 ms (500 holds on one sailing through the WSGI handler)."
        " The pair on b2b7ec9: 134 and 117 holds a second on one sailing (0.85 and 0.87 of 100 sailings' 159 and "
        "134), met, on a machine slower than in the pairs on 85359e0–007e396 (193–206 at a speed probe of 14.6 "
        "ms; here 15.7–19.0). The bench's rate limits counted over a second rather than a minute are not the "
        "cause: partial runs of figure 6 alternating the two gave 118 and 123 over a second, 125 and 119 over a "
        "minute."
        " The pair on dae679e: 120 and 128 holds a second on one sailing (0.89 and 0.85 of 100 sailings')."
    ),
    7: (
        "At 200 webhooks a second every one is also processed at once by the payments worker (a fetch from Stripe's "
        "stand-in and a transaction each), on the same two cores as the web tier, PostgreSQL and the load generator: "
        "requests wait for a core, and the distribution (results.png) shows it, the median rising with the p99. Per "
        "request the endpoint does what the rules ask and no more: the signature is checked, the event stored in one "
        'statement, the processing queued in one Redis message (no "task sent" event), the connection\'s health '
        "checked before reuse (CONN_HEALTH_CHECKS, what keeps a restarted PostgreSQL from failing requests). Met in "
        "both runs of the 51a8541 pair (8.52 and 9.79), missed once in each of the two before (10.98, 9.50 met): the "
        "rounds ranged over a factor of two to four within one run (5.7–21.0). Part of that was the bench's: the "
        "fixed-rate client ran in the bench's process, beside the stand-ins for Stripe, which the payments worker "
        "calls for every webhook, and its waits for the GIL counted as the webhooks'. Sent from a process of its own "
        "(a779d1c): 6.90 and 7.53, rounds 6.5–7.4 and 6.6–11.0. In the pair on 2f88d29: 8.36 and 9.39, met in both "
        "and within ±15 %; in both runs the kernel's proactive reclaim (kdamond) took 6.2–6.3 s of CPU during this "
        "figure against 0.7–2.1 s during any other, and pages of files were read again after reclaim 1,386–3,386 "
        "times (24–999 during the others): a load of the machine's own beside the stack, heaviest in this figure (the"
        " likeliest source, not established: the events written at 200 a second churning PostgreSQL's pages). Whether"
        " it was heavier in the runs where this figure read 18–22 is not known: the counters came after them. What "
        "would close it: the workers on cores of their own, as in any real deployment. Found since: the kdamond is "
        "the virtual machine's own proactive reclaim (DAMON, /sys/kernel/mm/damon/admin: a `pageout` scheme on "
        "physical memory, any page not touched for 60 s paged out, up to 50 ms of CPU a second), a part of the "
        "platform outside the stack; in the pair on df2bfb9 it took 8.5 and 6.4 s during this figure (0.7–2.9 s "
        "during the others), and the figure read 15.4 (rounds 7.3–28.5) and 7.4 (6.1–26.4): one or two of the five "
        "rounds at 41–64 ms in each run, whatever the code. This round the events are what Stripe sends about "
        "payments under way (3b6374f): payment_intent.created about the PaymentIntents of 40 bookings held with their"
        " payment started, each fetched from Stripe's stand-in and applied in a transaction once (the details count "
        "the outcomes: all handled, one attempt each). They were charge.succeeded about intents Stripe did not know: "
        "each fetched five times and retried four times on a backoff of 1–8 s, whose retries ran in later phases — "
        "the /livez side's and the next rounds' — so that a round's load was not its own. In partial runs of this "
        "figure alone, alternating, the two kinds of events read alike (old 14.51 and 5.94, new 7.05 and 6.01). Web "
        "and Celery workers now leave what they loaded out of garbage collections (ceb64e2): a full collection walked"
        " some 150,000 objects, seen at 130–250 ms of wall time in web workers under this load (a gc callback in "
        "every process of a partial run); a partial run after it: 5.85, rounds 5.09–6.33. Each round is now listed "
        "with the machine's work meanwhile, the CPU the hypervisor gave its other guests (steal) among it: in the "
        "partial runs one round read 18 while the host took 10.1 s of the guest's CPU, another 62 with 7.6 s. The "
        "pair on 3418f4e, on a machine a half slower than the pairs before (speed probe 29 ms against 19): 11.88 "
        "(rounds 30.6, 39.6, 11.9, 10.7, 7.46: the first two slow with neither steal nor reclaim above 0.7 s, their "
        "cause not found) and 9.00 (rounds 6.59–9.65). The pair on 1d5a56e (speed probe 21 and 26 ms): 7.42 (rounds "
        "5.69–9.19) and 9.06 (7.51–16.35), met in both, 22 % apart. The pairs on 43c3c38 and 2073cf4: 9.15 (rounds "
        "5.52–13.59) then 15.90 (7.28–38.30), 9.28 (6.53–14.11) then 13.32 (11.75–18.01): met in the first run of "
        "each, missed in the second, the webhook's p99 18.2–18.5 ms in the first runs and 29.0–33.9 ms in the second "
        "while /livez's p50 stayed at 2.0–2.2 ms; the second runs were the slower machines (speed probe 34.0 and 34.3"
        " against 31.8 and 33.5 ms). The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast "
        "(speed probe 14.6 ms): 5.88 and 5.67, 6.80 (one round at 16.4) and 6.17, 6.33 and 6.18 — met in all six, the"
        " webhook's p99 8.4–9.8 ms against /livez's p50 at 1.4–1.5 ms."
        " The pair on cdfc18e, on a machine slower than the pairs before it (speed probe 19–28 ms during this figure,"
        " against 14.6): 11.73 (rounds 6.77–14.22; webhook p99 20.3 ms) and 7.94 (6.36–59.50, the 59.5 round with "
        "1,021 pages of files read again after reclaim and 0.5 s of kdamond); missed in the first run, 5.67–6.80 in "
        "the six runs on the faster machine. With one web thread a process: 41.6 (a webhook waits behind the searches"
        " its process serves)."
        " The pair on b2b7ec9: 7.55 (rounds 7.07–9.73) and 10.05 (8.04–12.46), missed by half a percent in the "
        "second run, the machine a tenth slower in it (speed probe 17.3–19.0 ms against 15.7–17.5; the webhook's "
        "p50 5.8 ms against 4.6, its p99 20.1 against 13.7). The second run's profile: publishing the task "
        "(Celery's apply_async, one Redis round trip; 440 µs of CPU an enqueue measured alone, in one process) is"
        " 39 % of the web process's samples under this load, two thirds of a webhook's own work, and the payments"
        " worker spends twice the web process's CPU processing the events meanwhile."
        " The pair on dae679e, where a publish declares nothing (a Stripe webhook's request 2,040 → 1,790–1,940 "
        "µs of CPU in one process, alternated): 10.53 (rounds 7.51–13.49) and 8.20 (6.06–11.38), on a machine "
        "slower again (speed probe 17.4–18.6 ms); the webhook's p50 5.5 ms against /livez's 1.9, its p99 20.5 and"
        " 15.4 ms. The webhook's wait is not PostgreSQL's commit: this disk syncs 8 kB in 125 µs (pg_test_fsync);"
        " a webhook's request is 1–2 ms of CPU, the rest waiting for a core beside the payments worker processing"
        " the events and /livez's load. Over the last four runs, on this machine: 7.55, 10.05, 10.53 and 8.20 — "
        "at the target's edge, where the run's machine decides."
    ),
    8: (
        "Every queue's idle p99 is now under 50 ms: the e-mails worker runs four processes (an e-mail mostly waits "
        "for the mail server; with two, both busy making a booking's PDFs, the probes waited 150–230 ms), and the "
        "PDFs cost less (figure 9). The ratio compares a near-idle machine with one whose two cores are kept busy by "
        "half of the web tier's peak and by wrk: a worker ready to take a task waits for a core, not for the broker "
        "(prefetch 1, one message per task, the queues empty). Over the last three runs it was 3.0, 71.5 and 9.8: in "
        "the second the machine served a fifth less (figure 1's /livez) and the e-mails worker, making PDFs at half "
        "load, fell behind (payment → e-mail p95 3.0 s; 1.2 and 1.5 s in the others). Last pair (51a8541): 9.56 and "
        "6.99; idle p99 7–11 ms on every queue in every round; at half load (1,369 and 1,249 searches/s) p99 emails "
        "161 and 96 ms, payments 117 and 31 ms, bookings 66 and 57 ms; payment → e-mail p95 1.18 and 0.94 s. The "
        "e-mails queue's p99 is the highest in both runs: its worker makes the round's PDFs (figure 9) meanwhile, on "
        "the cores the web tier is using. The load was then sent from the bench's own process, whose threads also "
        "stamp and send the probes: sent from a process of its own (a779d1c), the next pair gave 11.56 and 7.13 "
        "(emails 130 and 102 ms, payments 54 and 66 ms, bookings 35 and 46 ms at half load; idle 7–11 ms), so the "
        "waits are the stack's, not the bench's. The pair before had one round at 307× (the payments queue's p99 2.2 "
        "s at half load); it did not come back in this pair's ten loaded rounds, and its cause is not established. "
        "This round the probes were followed through the workers' logs (BENCH_WORKER_LOGLEVEL=INFO, a partial run): "
        "at half load the p99 of sent → received by the worker's main process (the broker's part) went from 6–9 ms "
        "idle to 19–58 ms, and of received → started in a pool process from 4–9 to 22–42 ms, both medians staying at "
        "2–3 ms: the tail is two processes in turn waiting for a core. The scheduler's counts (/proc/…/schedstat per "
        "thread, every second) say why: in the half-load phases the two cores are all in use — the web tier 1.0–1.36 "
        "s of CPU a second (0.8–1.1 ms a search, against 0.73 ms at figure 1's closed-loop peak), the load's own "
        "process 0.15–0.24 s, the workers 0.35–0.5 s (mostly the e-mails worker's PDFs), Redis and PostgreSQL about "
        "0.1 s — with 3 to 8 web threads waiting for a core at any moment; the workers waited 0.45–1.07 ms a time "
        "slice against 0.13–0.20 ms idle. Half of figure 1's peak is not half of this machine. The web tier at a "
        "lower priority (BENCH_WEB_NICE=5) did not help (8.85 in a partial run; figure 7 7.08, unchanged): with some "
        "fifteen runnable threads on two cores (kernel 6.18, EEVDF) a woken worker waits its turn whatever the "
        "weights. The misses among the half load's searches are counted now: 13 legs a second, 1 % of lookups, not "
        "what fills the cores. In the pair on fc82375 one idle round had every queue's p99 at 276–347 ms (7–16 ms in "
        "the others); since then the bench's own process, which stamps and sends the probes, freezes its heap before "
        "the rounds (a full collection stops it whole) and reports its collections (a partial run: 32, none full, the"
        " longest 1.5 ms; the pair on 0eddf10: 31 and 29, none full, the longest 3.0 ms). That pair: 9.28 and 6.70, "
        "every idle p99 7–17 ms; at half load emails 399 and 132 ms (its worker behind on PDFs in the first run, a "
        "slow one: figure 9's CPU per lifecycle was 40 % higher in every process than in the second), payments 73 ms "
        "both, bookings 42 and 58 ms. The pairs on 2f88d29 and 639c07b: 6.90 and 7.07, then 3.75 (rounds 3.40–4.98, "
        "the lowest yet) and 7.86 (4.01–11.84) — the same code a run apart, the payment → e-mail p95 0.50–0.70 s in "
        "all four. What would close it: cores of the workers' own, which two shared cores cannot give. The pair on "
        "3418f4e, on a machine a half slower (speed probe 29 ms against 19; idle p99 8–24 ms a queue): 6.51 and "
        "12.95, rounds 2.42–8.69 and 3.48–14.28; in the second the host took 0.2–1.9 s of the guest's CPU a round "
        "(steal), not in step with the rounds' ratios; at half load emails 169 ms, payments 114, bookings 50. The "
        "pair on 1d5a56e: 8.50 (rounds 3.84–11.29) and 4.57 (3.04–35.77: its first round at 35.8, with neither steal "
        "nor reclaim); idle p99 7–12 ms a queue. The pairs on 43c3c38 and 2073cf4: 6.65, 5.08, 8.54 and 6.87; idle "
        "p99 7–14 ms on every queue; payment → e-mail p95 0.92 s at half load in the second run of the first pair. "
        "The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast (speed probe 14.6 ms): 9.96,"
        " 5.25, 4.43, 6.81, 4.54 and 6.52 (rounds 1.35–27.5). The faster machine lowers both sides: every idle p99 at"
        " 4.0–7.9 ms (13–16 on the slower one), at half load (1,511–1,640 searches a second) emails 39–100 ms, "
        "payments 22–32, bookings 19–44; payment → e-mail p95 0.32–0.37 s. At ≤ 3 a p99 of 5 ms idle leaves 15 ms "
        "under a load that keeps both cores busy, shorter than a few time slices of the five to eight threads ready "
        "to run on each core: the same physical reason as before, the ratio no nearer its target on a faster machine."
        " This round (a machine of speed probe 18–30 ms; partial runs of figures 1 and 8): the workers and the broker"
        " given a time slice of 100 µs (BENCH_WORKER_SLICE_US; EEVDF lets a woken process with a shorter slice take "
        "its core at once) gave 8.38 and 5.36 against 5.76 and 4.50 without: the waits are not the order in which the"
        " scheduler hands out turns. The number of web threads is what moves it: two a process gave 4.09 and 6.22, "
        "one a process 1.52 in a partial run and 1.38 in a full run (BENCH_GUNICORN_THREADS=1; idle p99 10–12 ms, at "
        "half load 17–19 ms), figure 1 unchanged (0.85–0.88). But in that full run the webhook's p99 was 42 times "
        "/livez's p50 (figure 7, 75.9 ms: a webhook waits behind the searches its process is serving), a miss's "
        "penalty 1.25 (figure 4), holds on one sailing 115 a second (193–206 with four threads), and figure 3 rose to"
        " 147× only because its uncached side fell to 12 requests a second (a search waiting 150 ms for an operator "
        "holds a whole process). On two shared cores the web tier's concurrency that figures 3, 4, 6 and 7 need is "
        "what keeps the workers waiting for a core in figure 8: no arrangement measured meets both, and the "
        "deployment keeps four threads a process."
        " The pair on cdfc18e: 5.84 and 7.30 (rounds 3.58–28.17 and 0.06–8.16). In the second run one idle round had "
        "every queue's p99 at 306–534 ms (5–10 ms in the other four), so the idle p99 over all rounds missed 50 ms on"
        " every queue for that run: the third time such a round is seen (the pair on fc82375, the issue's 680 ms), "
        "the bench's process not collecting (29 collections, the longest 1.9 ms), the machine quiet (0.2 s of "
        "kdamond, 33 refaults); all three queues at once points to what they share, the broker or the machine, not "
        "established."
        " Both Redis servers now run their latency monitor (details: each one's stalls over 20 ms and its slowest "
        "command, beside the time each idle round began). Three partial runs since: the broker never stalled (no "
        "write waited for an fsync), while a command kept the cache's Redis from serving for 66, 43 and 88 ms at "
        "worst; in the third, whose details name it, the rate limits' script (kernel.throttling's sliding windows), "
        "between two rounds or in a loaded one, every web process's cache lookups and rate-limit checks waiting "
        "behind it meanwhile. The bench raises the limits to 100,000,000 a minute, so the one client address's window"
        " holds a minute of its requests (a production limit holds a few hundred at most): where to look for the web "
        "tier's tail next."
        " The pair on b2b7ec9, the bench's rate limits counted over a second (a window held up to 109,255 of the "
        "load's requests over a minute): the cache's Redis did not stop for 20 ms or more in either run (66–88 ms"
        " before, in the rate limits' script), and figure 8 stayed where it was — 6.32 and 6.66 (rounds "
        "4.58–14.20 and 5.61–27.57), every queue's idle p99 7–11 ms in every round, at half load (1,401 and 1,193"
        " searches a second) emails 112 and 253 ms, payments 53 and 80, bookings 44 and 68; payment → e-mail p95 "
        "0.49 and 0.84 s. The Redis stall was not what holds the tail: the cores are. No round where every queue "
        "stalled at once in this pair."
        " The pair on dae679e: 9.91 and 9.36 (rounds 4.95–13.08 and 8.26–9.65), the machine slower again (speed "
        "probe 17.4–18.6 ms): every queue's idle p99 7–14 ms in every round; at half load (1,226 and 1,232 "
        "searches a second) emails 102 and 106 ms, payments 118 and 48, bookings 93 and 96; payment → e-mail p95 "
        "0.86 and 0.72 s; neither Redis stopped for 20 ms."
    ),
    9: (
        "Most of a lifecycle's CPU is the e-mails worker making the two PDFs once each (the invoice with the receipt,"
        " the e-tickets with the confirmation), kept then for every later e-mail, resend and download. Earlier "
        "rounds: text shaping only for documents that need it, QR codes with a set mask and drawn once, fonts cut to "
        "the scripts of our routes (the e-mails worker 294 → 160–180 ms a lifecycle). This round (2f88d29): fpdf2 "
        "read the whole font for every document it was added to, then parsed it again to cut it down to the glyphs "
        "used; now a process reads each font once and gives each document a copy with its own state, the font's file "
        "parsed only as the cutting needs it and the glyphs' bounding boxes kept as the font has them; the plain cut "
        "without the kerning table (read only when shaping) and each cut with its character map once. A document of "
        "two fonts 42.6 → 21.5 ms in one process; a booking's confirmation and receipt with both PDFs, built and sent"
        " on the test client, 130 → 78–87 ms; the e-mails worker 158–180 → 102–104 ms a lifecycle in the pair on "
        "2f88d29, the figure 0.63 and 0.80 → 0.43 and 0.45 (217 and 225 ms), on a machine slower than the one the "
        "baseline was measured on (speed probe 18.5–19.0 ms against 16.9–17.2 then: in probes a lifecycle is "
        "11.7–11.9 against the baseline's 29.5). The baseline: b26a980 measured again beside the current code, 499 "
        "and 507 ms a lifecycle in runs alternating with it (bench/README.md), 503 ms since; measured so again on "
        "this round's machine: 464 and 484 ms, the current code 235 and 259 ms in `--only 9` runs between them (0.50 "
        "and 0.55 of it: such partial runs of the current code cost more than its full runs' 217–225 ms). Where a "
        "lifecycle's CPU goes now: the e-mails worker 102–104 ms, web 36–38, PostgreSQL 32–34, the bookings worker "
        "20, the payments worker 16–18, both Redis 4–6; b26a980 spent 314, 72, 50, 26, 24 and 4. What is left in the "
        "e-mails worker: cutting each font down for each document (fontTools parses the tables it cuts: glyphs, "
        "widths, names, character map), the layout, about ten queries an e-mail, and Celery's handling of the two "
        "tasks. The pair on 9478227, on a machine slower than the baseline's (speed probe 18.9–19.8 ms against "
        "16.9–17.0): 0.58 (294 ms) in the first run, while other work slowed the machine further (the probe 19.2–38.7"
        " ms during this figure, median 30.5), and 0.49 (245 ms) in the second, the probe steady; in probes a "
        "lifecycle is 9.6 and 12.9 against the baseline's 29.5. The constant 503 ms is the baseline's CPU on its own "
        "machine: on a slower one the same code's ratio rises with the machine's slowness. Since e041855, b26a980 is "
        "measured beside the current code in the same run: a stack of its own (bench/baseline.py), the two stacks' "
        "lifecycles in turn, each stack's idle CPU read while the other's ran. The pair on df2bfb9: 235 against 496 "
        "ms (0.47) and 275 against 562 ms (0.49), met in both and within ±15 %; the second run's machine was slower "
        "during this figure (speed probe 27.9 ms against 19.2), which against the constant would have read 0.55 — "
        "side by side it moved by 3 %. Where a lifecycle's CPU goes, now against b26a980 (run 1): the e-mails worker "
        "108 / 344 ms, web 38 / 64, PostgreSQL 34 / 40, the bookings worker 20 / 24, the payments worker 18 / 20, "
        "both Redis 2 / 4. The pair on 3418f4e, on a machine a half slower (speed probe 29 ms against 19): 248 "
        "against 514 ms (0.48) and 307 against 591 (0.52), the second's machine slower still during this figure "
        "(probe 41 % above the first run's; the e-mails worker 148 / 402 ms against 110 / 330): the same code beside "
        "the same baseline, over by 0.02 in the second run. The pair on 1d5a56e: 276 against 554 ms (0.499) and 293 "
        "against 581 (0.504). This round (43c3c38) a third cut of the fonts, the Latin letters of European names and "
        "the signs our documents print (570 glyphs against the plain cut's 2,005), for documents written in Latin "
        "letters alone: a booking's e-tickets and invoice 101–103 → 73–78 ms of CPU in one process, the PDFs the same"
        " size. The pairs on 43c3c38 and 2073cf4: 0.40 (290 against 729 ms), 0.41 (321 against 791), 0.43 (316 "
        "against 735) and 0.43 (328 against 761), met in all four with a margin at last; the e-mails worker 130–139 "
        "ms a lifecycle against b26a980's 474–520 (132 against 400 in the pair before): a quarter of its CPU, where "
        "it was a third. The machine was a third slower than in the pair before, which shows in both stacks' totals "
        "and not in their ratio. The pairs on 85359e0, 26a0624 and 007e396, on a machine more than twice as fast "
        "(speed probe 14.6 ms): 0.49 (180 against 368 ms), 0.47 (172 against 366), 0.47 (180 against 388), 0.49 (184 "
        "against 376), 0.46 (174 against 382) and 0.49 (189 against 386) — met in all six, with less margin than on "
        "the slower machine (0.40–0.43): ours took 180 where it took 328, b26a980's 368 where it took 761, each "
        "process alike (the e-mails worker 72–74 against 232–248 ms) — the baseline's PDFs and JSON, pure "
        "computation, gained more from the faster cores than our processes, whose share is more system calls and "
        "round trips. In speed probes a lifecycle is 12.0–12.9 now against 25.5–27.0 for b26a980 (9.3 against 21.7 on"
        " the slower machine)."
        " The pair on cdfc18e (the cut fonts without TrueType hinting: a booking's PDFs 42 % smaller, their output 13"
        " % less CPU): 0.42 (211 against 502 ms) and 0.43 (240 against 555 ms), the e-mails worker 88 and 100 ms "
        "against b26a980's 348 and 360; in speed probes a lifecycle is 10.9 and 12.5 against b26a980's 26.1 and 28.9."
        " The pair on b2b7ec9: 0.48 and 0.46 (226 and 267 ms against b26a980's 472 and 583; one round of the "
        "first run at 0.52), the e-mails worker 86 and 104 ms, PostgreSQL 42 and 50, the web tier 46 and 60."
        " The pair on dae679e: 0.49 and 0.47 (295 and 248 ms against b26a980's 605 and 532; a round of the first "
        "run at 0.54), the e-mails worker 110 and 98 ms: on this machine a margin of a few percent."
    ),
    10: (
        "The calendar's answer is kept whole as sent, as a search's is; a cached month serves about what a cached "
        "search serves (figure 2's A, bounded by figure 1). The computed month became cheaper with the search's reads"
        " (figure 2: 17 → 27 requests/s), which lowers the ratio it is measured by (48.3× in the first run of this "
        "round, 49–52× before). Since the hit is sent before DRF's request cycle in one command: 58–62× in partial "
        "runs. What would close it for good: a hit with no round trip (figure 1's note). The pair on 3418f4e: 45.7× "
        "and 54.3×. The computed month is faster since web workers leave what they loaded out of garbage collections "
        "(ceb64e2): 42 and 41 requests/s against 33 in the run before, on a machine a half slower (a month computes "
        "with many allocations, and each full collection walked the 150,000 objects loaded). A faster computed side "
        "lowers the ratio, and the cached side is bounded by the bare view (figure 1: 1,866 and 2,554 requests/s, so "
        "44× and 62× at most). The pair on 1d5a56e: 46.2× and 43.8×, computed 41 and 37 requests/s, the cached month "
        "1,872 and 1,608 while the machine was a fifth slower than at figure 1 (speed probe 23.1 and 24.2 ms against "
        "18.3 and 20.9): cached as fast as the bare view at that speed, the ratio at its bound — missed in both, "
        "because the computed side became faster. The pairs on 43c3c38 and 2073cf4: 59.2× and 54.5×, 51.9× and 56.4× "
        "— met in all four, the computed month at 24–30 requests/s on this slower machine (speed probe 32–34 ms) and "
        "the cached one at 1,427–1,645 (0.68–0.83 of figure 1's bare view in the same run): the ratio follows the "
        "computed side's speed more than anything the cache does. The pair on 85359e0, on a machine more than twice "
        "as fast (speed probe 14.6 ms against 32–34): 45.4× and 45.0×, the computed month at 62–63 requests/s and the"
        " cached one at 2,836 and 2,833 (0.81–0.82 of the bare view): 55×–57× at most. This round a hit pays less of "
        "Django and DRF, measured in one process (CPU per request, 2,000 × 5 rounds): the calendar's answer key "
        "remembered for equal queries as a search's is (f53af11, 11 µs); the messages' storage made when first used "
        "(b499ed6, 12–13 µs on every request); no language read from the path while no address carries one, and the "
        "rate limits' client address read from META rather than from a copy of every header (007e396, 10 and 18 µs) —"
        " a cached month 248 → 200 µs, a cached search 246 → 209, /livez 208 → 186. Partial runs of figures 1 and 10 "
        "alternating old and new: 48.0× (cached 2,981/s) on 85359e0 against 50.8× and 50.4× (3,208 and 3,159) on "
        "b499ed6; 51.9× (3,175) on 26a0624 against 54.3× and 53.2× (3,316 and 3,379) on 007e396. Full pairs: 26a0624 "
        "49.5× and 49.8× (cached 3,065 and 3,021, computed 62 and 61); 007e396 53.5× and 54.0× (cached 3,134 and "
        "3,077, computed 59 and 57) — met in both, though part of the gain over the pair before is its computed side,"
        " 5–8 % slower in that pair for the same work (the change takes the same CPU off both sides). In a full run "
        "the month is measured last, and served about 5 % less than in a partial run of figures 1 and 10 alone (2,833"
        " against 2,981 on 85359e0): not investigated."
        " The pair on cdfc18e: 70.3× and 67.4×, the cached month at 2,880 and 2,935 requests/s and the computed one "
        "at 41 and 44 (57–63 on the faster machine before): this machine's slower cores cost the computed month, "
        "which is PostgreSQL's and Python's work, more than the cached one."
        " The pair on b2b7ec9: 53.8× and 58.5× (the computed month 45 and 35 requests/s, the cached one 2,403 and"
        " 2,069)."
        " The pair on dae679e: 58.0× and 53.2×."
    ),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 2)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    parser.add_argument("--zipf-seconds", type=float, default=float(os.environ.get("BENCH_ZIPF_SECONDS", 60)))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="figures to measure, e.g. 1,2")
    parser.add_argument("--no-profiles", action="store_true")
    parser.add_argument("--output", default="", help="folder for results.md and results.png")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="measure nothing: the last full run beside the one before "
        f"(exit 1 beyond ±{history.TOLERANCE * 100:.0f} %%)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs even when the run succeeds")
    return parser.parse_args()


def step(text: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)


def compare() -> int:
    runs = history.load()
    if len(runs) < 2:
        print("bench/history.json holds fewer than two full runs: nothing to compare")
        return 1
    text, agree = history.compare(runs[-2], runs[-1])
    print(text)
    return 0 if agree else 1


def pinning() -> str:
    """The bench process (and so wrk, the asyncio client) on the load CPUs; the stack's processes pin themselves."""
    if not LOAD_CPUS:
        return "The load generator and the stack share every CPU (nothing pinned)."
    os.sched_setaffinity(0, parse_cpus(LOAD_CPUS))
    return (
        f"The load generator runs on CPU {LOAD_CPUS}, the stack on CPU {STACK_CPUS} (PostgreSQL, shared with the "
        "machine, where the scheduler puts it)."
    )


def main() -> int:
    args = parse_args()
    if args.compare:
        return compare()
    started = time.monotonic()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pinned = pinning()
    full = args.rounds >= 5 and args.seconds >= 5 and args.zipf_seconds >= 60 and not args.only
    output = Path(args.output) if args.output else (BENCH_DIR if full else BENCH_DIR / "results")
    output.mkdir(parents=True, exist_ok=True)
    workdir = new_workdir()
    stack = Stack(workdir)
    baseline = None
    only = {int(n) for n in args.only.split(",") if n.strip()} or set(FIGURES)
    failed = False
    try:
        step(f"PostgreSQL (database {stack.database}) and two private Redis servers", started)
        stack.start_postgres()
        stack.start_redis()
        stack.start_side_services()
        os.environ.update(stack.env())
        step("migrate, seed the demo network (90 days of sailings), vacuum and analyze it", started)
        stack.manage("migrate", "--noinput")
        stack.manage("seed_demo_data", "--days", "90", "--verbosity", "0")
        stack.settle_database()
        import django

        django.setup()
        if 9 in only:
            step(f"figure 9's baseline: commit {bench_baseline.COMMIT}'s code, venv, database seeded alike", started)
            baseline = bench_baseline.stack(workdir / "baseline")
            bench_baseline.seed(baseline)
        step("gunicorn A (cache on) and B (SEARCH_CACHE=0), three workers, operator simulator, Stripe, SMTP", started)
        stack.start_app()

        from bench.figures import Bench, Config

        config = Config(
            seconds=args.seconds,
            warmup=args.warmup,
            rounds=args.rounds,
            zipf_seconds=args.zipf_seconds,
            profiles=not args.no_profiles,
        )
        bench = Bench(stack, config, workdir, baseline)
        for number, name in FIGURES.items():
            if number not in only:
                continue
            step(f"figure {number}: {name.replace('_', ' ')}", started)
            if name == "local_cache_speedup":
                bench.cache_speedup(remote=False)
            elif name == "remote_cache_speedup":
                bench.cache_speedup(remote=True)
            else:
                getattr(bench, name)()
            stack.check_alive()

        from bench import report

        minutes = (time.monotonic() - started) / 60
        runs = history.load()
        previous = runs[-1] if runs else None
        if full:
            runs.append(history.entry(bench.figures, date=time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
            history.save(runs)
        text = report.markdown(
            bench.figures, config, minutes=minutes, load=load, notes=NOTES, past=runs, previous=previous, pinning=pinned
        )
        (output / "results.md").write_text(text)
        report.plot(bench.figures, output / "results.png")
        step(f"wrote {output / 'results.md'}", started)
        print(report.table(bench.figures, previous))
        if full and previous:
            print(history.compare(previous, runs[-1])[0])
        return 0
    except BaseException:
        failed = True
        traceback.print_exc()
        return 1
    finally:
        step("stopping the stack", started)
        if failed or args.keep_logs:
            logs = BENCH_DIR / "results" / "logs"
            shutil.rmtree(logs, ignore_errors=True)
            shutil.copytree(workdir, logs, ignore=shutil.ignore_patterns("*.txt", "*.raw", "redis_*", "var"))
            print(f"logs of the stack: {logs}", file=sys.stderr)
        if baseline is not None:
            try:
                baseline.stop()
            except Exception:  # the stack measured is stopped all the same
                traceback.print_exc()
        stack.stop()
        remove_workdir(workdir)
        step("done", started)


if __name__ == "__main__":
    sys.exit(main())
