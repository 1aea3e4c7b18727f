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

# Where each figure stands and why, in short: printed under a figure whose target is missed. How each cause was found,
# pair by pair, is docs/bench-findings.md; a new finding goes there, and here only where it changes the cause.
NOTES = {
    1: (
        "`/livez` touches nothing but the process, but it goes through every layer of the request cycle. Since b8ae757 "
        "a kept answer does not: it is sent from ferries.api.middleware right after the security and static-file "
        "layers, without the URLconf's resolving or the session, CSRF, authentication, messages and account layers; "
        "the parts of the later layers that it has (the language, Content-Length, X-Frame-Options, the count by view) "
        "run there, so its response is the whole cycle's, header for header. In one process a hit costs 159 µs against "
        "/livez's 187 (229 against 199 before). Under gunicorn and wrk the figure reads about 1.0 (a partial run 1.01 "
        "against 0.91 for its parent measured right after it; the pair on b8ae757 1.00 and 1.07, on 72903e9 1.06 and "
        "1.04, on 8bc772c 1.05 and 1.07): what both pay outside Django — gunicorn's Python, the kernel's sockets, the "
        "load generator — weighs as much as the layers saved, and the hit sends 14 KB where /livez sends 19 bytes. A "
        "hit costs no Redis round trip: the web process's copy of the answer is dropped when Redis says its entry "
        "changed (CLIENT TRACKING in broadcasting mode: ferries/cache/first_level.py), and the `anon` and `user` "
        "limits of a client that comes back within a second are decided in the process on places Redis set aside for "
        "it (kernel/throttling.py, `CountedAhead`). Met in all of the last 20 runs (0.90–1.17); the last miss was "
        "0.76, in the first run of the pair on e850263 (the machine slowed under it: the speed probe up to 23.5 ms "
        "against 13.7 at its median)."
    ),
    2: (
        "The two halves pull against each other: a cheaper uncached search lowers the speed-up. Cache off, a day's "
        "search of our own inventory is three queries compiled once per process (kernel/compiled.py), each executing "
        "in 0.07–0.21 ms with its indexes; 183677b has PostgreSQL prepare them (psycopg 3, values bound by the server, "
        "a statement prepared once it has run five times on a connection), so that the 0.1–0.2 ms of planning each "
        "(EXPLAIN ANALYZE) is no longer spent at every run: PostgreSQL's CPU per uncached search 1.62–1.71 → 0.73–0.78 "
        "ms under load, 287–311 → 356–379 requests/s in alternating runs. Server-side binding alone gives nothing "
        "(partial runs 292 and 325 against 326 and 314): Django leaves psycopg's prepare_threshold unset, never "
        "preparing, unless it is given. Where the rest of an uncached search's CPU goes: computing the legs about 70 % "
        "(the day's inventory read, the fares' rows made into models, the pricing), DRF and the middleware 22 %, the "
        "answer's JSON 7 % until 9b79bd6 wrote it with orjson (kernel.api.json_bytes). The cached side is bounded by "
        "figure 1. The speed-up is met in every run since 85359e0 (6.4–11.1×). The uncached side's share of the bare "
        "view: 0.10–0.12× from 85359e0 to 0f5cb7d, 0.080–0.107 on the fastest machine these runs have had (met once in "
        "four), 0.132 and 0.144 in the pair on 183677b (409 and 434 requests/s against a bare view of 3,098 and 3,018, "
        "speed probe 16–18 ms) — met in both, with the speed-up at 6.9× and 6.4× — 0.127 and 0.120 in the pair on "
        "47a32ec (627 and 584 against 4,929 and 4,861, speed probe 13.2–13.4 ms; the speed-up 7.0× and 7.6×), 0.129 "
        "and 0.123 on 6333cac (617 and 579 against 4,778 and 4,702; 7.2× and 7.0×). On fb9b4ee, a machine whose probe "
        "read 13 ms but whose bare view served 4,266 and 4,199 requests/s (4,700–4,930 on the machine before at the "
        "same probe): 0.117 and 0.098 (501 and 410 requests/s; 8.2× and 8.9×), the second missing by 0.002 — the "
        "uncached search is PostgreSQL's and Python's work, and moved with the machine more than the bare view did. On "
        "48a7ab5, a machine a third slower (speed probe 19.2–19.3 ms, the bare view at 3,255 and 3,139): 0.094 and "
        "0.108 (305 and 338 requests/s; 8.4× and 7.5×), the first missing by 0.006. On 5cdfd14, an AMD machine slower "
        "again (speed probe 24.7 and 26.5 ms at the runs' medians, 18–38 within a figure; the host reclaiming the "
        "guest's page cache meanwhile): 0.111 and 0.099 (327 and 263 requests/s against a bare view of 2,954 and "
        "2,666; 9.0× and 8.5×), the second missing by 0.001. On 108754b, the same AMD machine slower still (speed "
        "probe 36.1 and 37.6 ms at the runs' medians, up to 53 within a figure): 0.158 and 0.115 (252 and 196 "
        "requests/s against a bare view of 1,597 and 1,703; 7.7× and 7.1×). On ba7834d (the same product code; speed "
        "probe 37.4 and 38.5 ms): 0.120 and 0.131 (179 and 177 requests/s against a bare view of 1,496 and 1,354; 8.8× "
        "and 7.2×). On aca6095 (the same product code), on the same AMD machine running faster again (speed probe 22.1 "
        "and 22.3 ms at the runs' medians): 0.109 and 0.131 (281 and 325 requests/s against a bare view of 2,587 and "
        "2,478; 9.5× and 8.6×). On ba8b6dc (the same product code; speed probe 20.4 and 20.5 ms at the runs' medians): "
        "0.120 and 0.122 (313 and 292 requests/s against a bare view of 2,610 and 2,401; 8.2× and 7.7×). On 87b552b "
        "(the same product code; speed probe 19.1 and 21.2 ms): 0.128 and 0.111 (359 and 238 requests/s against a bare "
        "view of 2,802 and 2,142; 8.3× and 9.2×)."
    ),
    3: (
        "Without the cache each search waits 150 ms for the operator (the simulator), so the uncached side serves "
        "wrk's 8 connections ÷ that wait: 34–47 requests/s whatever the CPU (Little's law). The cached side is "
        "CPU-bound. Until b8ae757 it went through every layer of the request cycle that the bare view goes through, "
        "and more, and served 0.80–0.95 of it, so the figure's bound was the bare view ÷ the uncached side (45–119× on "
        "the machines measured) and the figure itself 46–79× on most machines, 84–99× on the fastest, met in three "
        "runs (101.8× on 47a32ec; 102.8× and 101.3× on 6333cac, the bound 109–111×). Since b8ae757 a kept answer is "
        "sent before most of the cycle (figure 1) and serves as much as the bare view (1.00 and 1.07 in the pair on "
        "b8ae757; a partial run 82.5× against 64.7× for its parent measured right after it): the figure now reaches "
        "that bound instead of nine tenths of it, and is met where the bare view serves about 4,000 requests/s or more "
        "at the uncached side's 38–42 — not on this pair's machine (Intel, speed probe 16.2–18.4 ms): 79.4× and 79.2×, "
        "the bare view at 3,139 and 2,655 requests/s, the uncached side at 38 and 35 (the bound 83× and 76×), the "
        "cached side at 3,012 and 2,773; on 72903e9 85.1× and 81.2×, the cached side at 3,377 and 2,721 against a bare "
        "view of 3,019 and 2,664 and an uncached side of 40 and 33; on 8bc772c 81.0× and 83.2×, the cached side at "
        "3,097 and 2,863, the uncached at 38 and 34. On 5cdfd14, an AMD machine slower again (speed probe 24.7–26.5 "
        "ms): 63.9× and 59.9×, the bare view at 2,954 and 2,666 requests/s over the uncached side's 42 and 39 (the "
        "bound 70× and 68×), the cached side at 2,707 and 2,334 (0.92 and 0.88 of the bare view). What is left of a "
        "hit's cost on the two shared cores is mostly what the bare view pays too: gunicorn's own Python per request, "
        "the kernel's sockets, the load generator. What would close it on any machine: more cores, a faster HTTP "
        "server in front of the application, or more concurrent clients than the uncached side has threads (with one "
        "web thread a process it read 147×, only because the uncached side fell to 12 requests/s). The latency ratio "
        "in the details (p50) is what a traveller sees. On 108754b (speed probe 36.1 and 37.6 ms): 51.5× and 51.5×, "
        "the bare view at 1,597 and 1,703 requests/s over the uncached side's 33 and 33 (the bound 48× and 52×), the "
        "cached side at 1,693 and 1,702 (1.06 and 1.00 of the bare view): at its bound again. On ba7834d: 47.6× and "
        "50.9×, the uncached side at 31 and 35 requests/s, the bare view at 1,496 and 1,354 (the bound 48× and 39×; "
        "the cached side served 1,804 requests/s in the second run, above the bare view's rounds). On aca6095, the "
        "same machine running faster (speed probe 22.1 and 22.3 ms): 71.0× and 73.7×, the uncached side at 38 and 37 "
        "requests/s, the bare view at 2,587 and 2,478 (the bound 68× and 67×), the cached side at 2,711 and 2,734 "
        "(1.05 and 1.10 of the bare view): at its bound. On ba8b6dc (the same product code; speed probe 21.3 and 19.8 "
        "ms at the figure's medians): 65.9× and 74.9×, the uncached side at 38 and 40 requests/s, the bare view at "
        "2,610 and 2,401 (the bound 69× and 60×), the cached side at 2,527 and 2,975 (0.97 and 1.24 of the bare view "
        "measured in figure 1): at its bound, above it in the second run as the bare view's own reading moved. On "
        "87b552b (speed probe 18.7 and 19.6 ms): 80.6× and 67.3×, the uncached side at 37 and 41 requests/s, the bare "
        "view at 2,802 and 2,142 (the bound 76× and 52×), the cached side at 2,988 and 2,766. Met in none of the last "
        "20 runs."
    ),
    4: (
        "A miss does what a search with the cache off does, plus two Redis round trips (the answer's lookup sent with "
        "the rate limits' check, which, finding no answer, looks the legs up and takes their locks; the keeping, sent "
        "without waiting for its answer) and Redis's own writes. On this closed loop the p50 ratio follows the ratio "
        "of all processes' CPU per request on the two shared cores: a miss adds 0.5–1.3 ms (the web 0.3–1.0, Redis "
        "0.24–0.39, PostgreSQL nothing; each read that waits for Redis costs the client 100–140 µs under load against "
        "40 in a loop: a thread put to sleep and woken, the GIL handed over), and the no-cache side's own CPU per "
        "request moves more from run to run than the gap to the target. 183677b (prepared statements) made the search "
        "itself 1.1–1.5 ms cheaper and left what a miss adds as it was, so the same extra weighs more: partial runs "
        "alternating psycopg2 and 183677b read 1.11 and 1.09 against 1.13 and 1.12, the no-cache side 8.04 and 7.31 ms "
        "a request against 6.51 and 6.61 (PostgreSQL 2.43 and 2.26 against 1.03 and 1.01), a miss adding 1.05 and 0.85 "
        "ms against 0.95 and 0.79. The pair on 183677b: 1.25 (rounds 1.07–1.32) and 1.13; on 47a32ec, the fastest "
        "machine yet (speed probe 13.2–13.4 ms): 1.12 and 1.20, a miss adding 0.79 and 1.15 ms of CPU to a search of "
        "4.14 and 4.79. On 6333cac (speed probe 12.9 ms): 1.16 and 1.15, its one-thread reading 1.08 and 1.12. On "
        "fb9b4ee: 1.09 and 1.12, the one-thread reading 1.14 in both (the search itself 4.1–4.7 ms of CPU in one "
        "thread against 3.5–4.0 on the machine before, at the same speed probe). On 48a7ab5, a machine a third slower "
        "and noisier (speed probe 18.7–18.8 ms at its median, up to 33 within a figure): 1.11 and 1.13, the one-thread "
        "reading 1.12 and 1.19 (its rounds 0.97–1.29; a miss adding 0.69 and 1.04 ms of CPU to a search of 5.74 and "
        "5.47). Met in 4 of the last 20 runs (1.06–1.10), missed in the others by 0.01–0.15. Without the load a miss "
        "sits at or just above the target: the details carry the figure read again in one thread of the bench's own "
        "process (no contention, the same never-asked searches on each side), 1.08–1.14 in six partial runs on the "
        "machine of 6333cac (a miss adding 0.14–0.29 ms of the thread's CPU and 0.20–0.24 of Redis's to a search of "
        "3.5–4.0) where the figure itself read 1.01–1.23, and 1.14 in all four readings on the machine of fb9b4ee (two "
        "partial runs, the pair); scripts reading a whole process in one thread, 1.15–1.23. The load adds the rest: a "
        "round trip that waits costs more when threads and processes contend for the cores. Measured and left, none "
        "beyond the spread: the keeping's writes as MULTI/EXEC instead of a script, Redis over a Unix socket, a 1 ms "
        "GIL switch interval in the web processes (1.18 against 1.09), the keeping's answer left unread at the "
        "request's end when it has not come (1.15 and 1.15 against 1.08 and 1.18). Where a miss's extra goes, in one "
        "thread, the same queries on each side: the keeping's writes 0.14 ms of 0.55 (measured by keeping nothing: "
        "0.41 left), the Redis round trips about 0.12 (a bare one costs the web 28 µs and Redis 23 here; a miss makes "
        "two to three), the cache layer's own Python the rest, spread over the answer's key, its lookup and the legs' "
        "locks and tokens. Keeping fewer entries would not close it; what would: the cache layer's plumbing of a miss "
        "cut by half as well, or a dearer search. Since fb9b4ee the one-thread reading also splits the miss side's "
        "Redis CPU (INFO commandstats): its scripts ran 0.18 and 0.15 ms of the 0.33 and 0.27 (2.4 scripts a search), "
        "the rest serving them; since 2b0fd60 it also counts what each side asked of Redis a search (a miss 2.6 "
        "requests, 23.5 commands, 16.2 kB in, 1.7 out, the same in two partial runs that read the ratio 1.16 and "
        "0.99): a change's saving shows there on any machine. By script (SLOWLOG in one thread): the keeping 66–153 µs "
        "by how many entries it writes, the answer's lookup 12–14, the days around's lookups 20–47. A command costs "
        "Redis about 2 µs in a script against 1 outside, and the keeping's run is its twenty-odd writes, not its 11 "
        "kB: 39–44 µs with bodies of 10 bytes against 60–66 with the real ones in a loop; the wrapper that replaces a "
        "key of another kind 11–19 % of it (51–56 µs without). On the web's side, per miss (each part's thread CPU, in "
        "one thread): the answer's lookup made ready 50–75 µs and its round trip with the rate limits 65–75, the "
        "keeping's entries made (JSON, keys, the sets' names) 95–125, its send 55–77 (packing 15, a send of 12 kB 40: "
        "to a Redis asleep a bare one costs the sender 18 µs, to a busy one 6), the days around's lookups 50–60, "
        "reading what Redis said of the answer kept 31–38 and the keeping's answer 20–26. The parts that could go at a "
        "small loss (that reading, which lets this process copy the answer at once; the wrapper, which mends a key of "
        "another kind) come to some 0.05 ms: 1.14 would read about 1.13. Counted in instructions (`make "
        "bench-instructions`: callgrind, the web process and the cache's Redis, which no noise moves; 120 never-asked "
        "searches a side): a miss runs 2.09 M instructions more than a search with the cache off (20.3 and 0.82 M "
        "against 18.8 and 0.19: 1.110), and keeping nothing at all would save 0.64 M of it (1.077); the rest is the "
        "lookups, the locks, the round trips and the cache layer's Python. Since each side of the reading reads the "
        "query strings afresh, as a process of its own does (before, the side going second in a round found the "
        "first's remembered and skipped reading them): 20.7 and 0.77 M against 19.2 and 0.17, the same 2.06 M extra, "
        "1.106, the rounds 1.10 and 1.12 where they read 1.06 and 1.18; the bench's one-thread timed reading forgets "
        "them between its sides too. Keeping an answer whole only from its second asking (87f5076, reverted in "
        "c5a6ccf) saved a one-off miss 0.46 M but made each answer asked again 5.3 M dearer (made of its kept "
        "searches, 7.4 M, instead of read whole, 2.05 M): on the bench's own Zipf traffic 19 G instructions more "
        "against 0.46 G saved. The pair on b5eb4b2 (speed probe 14.4–14.5 ms): 1.12 and 1.06 (rounds 1.08–1.26 and "
        "0.82–1.23), the one-thread timed reading 1.22 and 1.31 on this machine (a miss 23.4 commands in both), where "
        "the instructions read 1.110. The pair on b8ae757 (Intel, speed probe 16.2–18.4 ms): 1.17 and 1.12, the "
        "one-thread timed reading 1.16 and 1.15 (23.4 and 23.5 commands a miss); in instructions 1.105 (a miss's extra "
        "2.05 M against 2.08 on its parent: a kept answer's early try, made before the whole cycle, costs a miss and a "
        "search with the cache off the same 0.12 M). On 72903e9: 1.05 and 1.18 (+12 %), the one-thread timed reading "
        "1.14 and 1.12. On 8bc772c (no change to a search): 1.19 and 1.21, the one-thread timed reading 1.18 and 1.14 "
        "(23.4 commands a miss). Met in 4 of the last 20 runs (1.05–1.09); the six on the Intel machine 1.05–1.21. "
        "Since then a miss's keys are made by joining the cache's prefix and the name: in instructions 1.101 against "
        "1.105. The pair on 5cdfd14 (AMD, speed probe 24.7–26.5 ms): 1.09 and 1.16 (rounds 0.87–1.36 and 0.96–1.20), "
        "the one-thread timed reading 1.25 and 1.27 (23.8 and 23.9 commands a miss); in instructions 1.103 on this "
        "machine. What the extra pays for, each part switched off in a throwaway copy and counted in instructions "
        "against 2.023 M: the answers' listing by sailing, the note kept for warming and the answers' fame 0.20 M; the "
        "locks that make a burst of identical misses compute once 0.09 M; the availability a miss keeps for its minute "
        "0.13 M (1.928 against 2.057, read side by side); the process copies 0.09 M (b8ae757). Without all of them a "
        "miss would still run some 1.5 M more than a search with the cache off (about 1.08 in instructions); the timed "
        "readings run up to 0.17 above the instruction count of the same code (the kernel's part of the round trips; "
        "under load, the waits for a core), so even that would not hold 1.10 timed in every run. What is left is the "
        "cache itself: the lookups, the legs' searches and the whole answer kept, and their round trips. On 108754b "
        "(speed probe 36.1 and 37.6 ms): 1.16 and 1.16 (rounds 0.97–1.34 and 1.05–1.48); the one-thread timed reading "
        "1.15 and 1.11, a search 12.9 and 12.6 ms of CPU in one thread there (3.5–5.7 on the machines before), a miss "
        "adding 1.9 and 1.5 ms of it (24.2 commands a miss). Met in 4 of the last 20 runs (1.05–1.09). On ba7834d (the "
        "same search code): 1.20 and 1.04 (rounds 1.01–1.42 and 0.99–1.44), the one-thread timed reading 1.12 and "
        "1.16. On aca6095 (the same search code; speed probe 22.1 and 22.3 ms): 1.17 and 0.97 (rounds 0.86–1.28 and "
        "0.92–1.27), the one-thread timed reading 1.08 and 1.11, 23.7 and 23.6 commands a miss. On ba8b6dc (the same "
        "search code; speed probe 19.6 and 18.8 ms at the figure's medians): 1.06 and 1.22 (rounds 0.89–1.27 and "
        "0.84–1.47), the one-thread timed reading 1.14 and 1.30, 23.7 commands a miss in both: +15 % between the runs "
        "on the same instructions. On 87b552b (speed probe 21.5 and 19.2 ms): 1.14 (rounds 1.00–1.45) and 1.18 "
        "(0.81–1.26), the one-thread timed reading 1.29 and 1.20, 24.1 and 24.0 commands a miss. Met in 6 of the last "
        "20 runs."
    ),
    5: (
        "Over a fixed minute the hit rate is 1 − (distinct queries asked ÷ searches made): the first ask of each query "
        "is a miss, so the figure rises with the searches the machine serves in the minute, mostly spent on those "
        "first asks. The availability hit rate stays near 0.99 and no sale is ever made from a stale answer. The beat "
        "task that warms the most asked answers before they expire (`warm-popular-searches`) does not run in the bench "
        "stack (no beat), so it does not show here."
    ),
    6: (
        "A hot sailing books nearly as fast as a hundred sailings (0.80–0.92 of them), so its inventory row lock is "
        "not the limit. A hold is eight statements and its transaction, its answer made of the rows written; in one "
        "process it costs the web 4.45 ms of CPU and PostgreSQL 1.9 ms. The count is CPU-bound on two cores shared "
        "with PostgreSQL, Redis and the load, and follows the machine's speed: 193–206 holds a second at a speed probe "
        "of 14.6 ms, 150–212 at 13.8 ms (another machine), 194–255 at 12.9–13.4 ms, 117–158 at 16–19 ms, 119–126 at 25 "
        "ms, 92–108 at 32–34 ms. Never an oversell. What would make it hold on any machine: a database with cores of "
        "its own. On 108754b, at a speed probe of 36.1 and 29.3 ms at the figure's medians (up to 51): 89 and 92 holds "
        "a second (0.96 and 0.89 of a hundred sailings), under the 100 asked, as the machines at 32–34 ms read before; "
        "never an oversell. Since the details give a hold's CPU by process, the bound is read in each run: in a "
        "partial run on that machine (speed probe 37.0 ms) a hold on one sailing cost the stack's processes 19.7 ms of "
        "CPU (the web 16.0, PostgreSQL 3.3, the cache's Redis 0.4), so the two cores could make at most 101 holds a "
        "second there if nothing else ran on them; the load generator, the host and the machine's own work took the "
        "rest, and 84 were made. The pair on ba7834d: 97 and 93 holds a second (speed probe 36.8 and 42.3 ms at the "
        "figure's medians); a hold on one sailing cost the stack's processes 16.95 and 17.73 ms of CPU, so two cores "
        "could make at most 118 and 113 holds a second with nothing else on them, and the rounds kept 1.86–1.89 cores "
        "busy. The pair on aca6095 (the same product code), the machine faster again (speed probe 20.6 and 19.2 ms at "
        "the figure's medians): 126 and 147 holds a second (0.92 and 0.83 of a hundred sailings), met in both; a hold "
        "on one sailing cost the stack's processes 12.93 and 11.36 ms of CPU, a bound of 155 and 176 holds a second, "
        "81 and 84 % of it made: the same code that made 93–97 at 36–42 ms. The pair on ba8b6dc (the same product "
        "code; speed probe 19.9 and 20.1 ms at the figure's medians): 126 holds a second in both, met; 0.98 and 0.81 "
        "of a hundred sailings, which made 129 and 154 — the ratio's −17 % between the runs is the hundred sailings' "
        "side alone. A hold on one sailing cost the stack's processes 13.62 and 13.17 ms of CPU, a bound of 147 and "
        "152 holds a second, 86 and 83 % of it made. The pair on 87b552b (speed probe 22.4 and 19.2 ms at the figure's "
        "medians): 109 and 139 holds a second (0.79 and 0.84 of a hundred sailings), met in both; a hold cost 15.05 "
        "and 11.93 ms of CPU, a bound of 133 and 168, 82 and 83 % of it made."
    ),
    7: (
        "At 200 webhooks a second each is also processed at once by the payments worker (the PaymentIntent fetched "
        "from Stripe's stand-in, applied in a transaction), on the same two cores as the web tier, PostgreSQL and the "
        "load. A webhook's request is 1.5–2 ms of CPU (the signature checked, one INSERT, one Redis publish that "
        "declares nothing); the rest of its p50 (4.6–5.8 ms) is waiting for a core — not PostgreSQL's commit (this "
        "disk syncs 8 kB in 125 µs) — beside the payments worker, which spends about twice the web tier's CPU on the "
        "events. A round's p99 is the tenth-slowest of a thousand requests and moves with the host's own work (the "
        "details list each round's steal and the VM's proactive reclaim, kdamond). The figure follows the machine: "
        "5.7–6.8 at a speed probe of 14.6 ms, 7.7–9.2 at 13.8 ms (another machine), 6.1–9.4 at 12.9–13.4 ms, 7.0–11.7 "
        "at 16–25 ms, 9–16 at 32–34 ms; missed in 5 of the last 20 runs (13.56; 20.63 and 21.48, 62.07 and 26.19 on "
        "the AMD machine below). What would close it: the workers on cores of their own. On b5eb4b2: 8.18, then 13.56 "
        "(rounds 6.05–27.0): its round of 27 lost 1.4 s of CPU to the host's other guests (steal) and 0.9 s to "
        "reclaim, the speed probe 19.5 ms at the figure's median (12.1–33.7) against 14–15 at the others'. The pair on "
        "b8ae757 (Intel, speed probe 16.2–18.4 ms): 8.88 and 8.15, met in both. On 72903e9: 7.06 and 7.72; on 8bc772c "
        "6.85 and 6.89. On 5cdfd14, an AMD machine slower and busier than any before (speed probe 29.8 and 26.7 ms at "
        "the figure's medians, up to 37; the host took 2.4 and 0.5 s of the guest's CPU and its proactive reclaim 3.9 "
        "and 2.9 s meanwhile): 20.63 and 21.48 (rounds 16.4–115 and 7.9–48.1), a webhook's p50 11.9 and 9.4 ms. The "
        "webhook's path is the same as on 72903e9 (7.06 and 7.72 on the Intel machine): partial runs on this machine "
        "alternating the two read 14.1, 14.3, 13.0 and 19.8 against 72903e9's 12.9, 9.99, 20.5 and 16.3 — the machine, "
        "not the code. On 108754b, the same machine slower still (speed probe 41.3 and 41.0 ms at the figure's "
        "medians, up to 52): 62.07 and 26.19 (rounds 16.4–77.5 and 17.3–37.8), a webhook's p50 16.4 and 10.8 ms; the "
        "host took 5.2 and 2.7 s of the guest's CPU over the figure, its proactive reclaim 5.1 and 4.2 s. Whether the "
        "two cores can do what 200 a second asks, read in three partial runs on 108754b's machine since the details "
        "say it: during the webhooks' rounds the cores were kept busy 1.91–1.93 of 2 (0.47–0.54 during /livez's at the "
        "same rate), the web tier 0.68–0.76 s of CPU a second (3.4–3.8 ms a webhook), the payments worker 0.74–0.79, "
        "PostgreSQL 0.21; the worker processed 29–52 events a second against the 200 arriving, 1,000–1,176 left "
        "waiting at a round's end. About 18 ms of the worker's CPU an event: processing 200 a second would take some "
        "3.7 cores by itself. The figure's definition keeps the processing running, so on this machine a webhook's "
        "acknowledgement waits for a core the worker holds: physical, whatever the acknowledgement's own path costs. "
        "The pair on ba7834d: 18.14 and 30.77 (rounds 14.75–42.81 and 28.76–111.86), the cores busy 1.86 and 1.93 of 2 "
        "during the webhooks' rounds (0.48 and 0.59 during /livez's), the payments worker processing 43–54 and 35–44 "
        "events a second against 200 arriving, 1,016–1,154 waiting at a round's end. The pair on aca6095 (the same "
        "product code), the machine faster again (speed probe 21.0 and 19.1 ms at the figure's medians): 13.64 (rounds "
        "7.17–21.11) and 7.65 (5.95–22.77), the webhook's p50 4.8 and 4.0 ms; the cores busy 1.84 and 1.73 of 2 during "
        "the webhooks' rounds, the payments worker processing 62–92 and 67–109 events a second against 200 arriving "
        "(0.92 and 0.93 s of CPU a second, some 10–14 ms an event), 633–954 waiting at a round's end. The pair on "
        "ba8b6dc (the same product code; speed probe 21.7 and 20.5 ms at the figure's medians): 9.45 (rounds "
        "7.46–19.42) and 9.61 (8.70–25.82), met in both and within ±15 % (+2 %), the webhook's p50 5.5 and 5.2 ms; the "
        "cores busy 1.87 and 1.85 of 2 during the webhooks' rounds, the payments worker processing 44–77 and 61–86 "
        "events a second against 200 arriving (0.88 and 0.89 s of CPU a second), 789–1,070 waiting at a round's end; "
        "each run's worst round (19.4 and 25.8) had the most pages of files read again after reclaim (3,380 and 1,035; "
        "34–496 in the others). Tried before this pair, not kept: the workers at a lower priority "
        "(BENCH_WORKER_NICE=10: 9.66, 16.23 and 15.66 in partial runs against 11.65, 9.23 and 12.06 without). The pair "
        "on 87b552b (speed probe 24.6 and 19.0 ms at the figure's medians): 13.88 (rounds 7.69–43.64) and 7.11 "
        "(6.62–12.49), the webhook's p50 8.3 and 4.7 ms; the cores busy 1.89 and 1.84 of 2, the payments worker "
        "processing 43–60 and 74–94 events a second against 200 arriving, 730–1,096 waiting at a round's end; the "
        "first run's worst round (43.6) had 76 pages of files read again after reclaim, so the refaults do not account "
        "for every slow round. Met in 11 of the last 20 runs."
    ),
    8: (
        "The ratio compares a near-idle machine with one whose two cores are kept busy by half of the web tier's peak "
        "and by the load: a worker ready to take a task waits for a core, not for the broker (prefetch 1, the queues "
        "empty). Followed through the workers' logs at half load: the p99 of sent → received by the worker grows from "
        "6–9 ms to 19–58, of received → started in a pool process from 4–9 to 22–42, the medians staying at 2–3 ms — "
        "two processes in turn waiting for a core, with 3 to 8 web threads runnable at any moment (the scheduler's "
        "counts). Tried: the web tier at a lower priority (BENCH_WEB_NICE=5: 8.85), a 100 µs time slice for the "
        "workers (BENCH_WORKER_SLICE_US: 8.38 and 5.36, against 5.76 and 4.50 without), one web thread a process (met "
        "at 1.38, but figure 7 read 42, figure 4 1.25, holds 115 a second and figure 3's uncached side 12 requests/s): "
        "on two shared cores the web tier's concurrency that figures 3, 4, 6 and 7 need is what keeps the workers "
        "waiting. Its other targets are met: every queue's idle p99 4–15 ms in every round of the nine pairs before "
        "5cdfd14, payment → e-mail p95 0.2–0.9 s. The cache's Redis still stops now and then: none over 20 ms in the "
        "four runs after the bench's rate limits were counted over a second, then 27 and 65 ms in the pair on 0f5cb7d, "
        "on a machine a third slower, and 22 ms in the first run on 8496e78, each in the rate limits' script, none "
        "over 20 ms in the three runs after, then 60 ms in the second run on 183677b (an EVALSHA, with a fast command "
        "taking as long the same second: a command's time includes any wait of Redis's thread for a core) and 22 ms in "
        "the second run on 47a32ec (the rate limits' script). The pair on 183677b, speed probe 16–18 ms: 4.84 and 9.34 "
        "(rounds 2.93–12.23; the half load's p99 40 and 84 ms, its queues at 30–97 ms), idle p99 6–12 ms on every "
        "queue, payment → e-mail p95 0.69 and 0.65 s; on 47a32ec, speed probe 13.2–13.4 ms: 6.74 and 4.02 (the half "
        "load 2,220 and 2,120 searches a second, its p99 36.5 and 22.0 ms, the e-mails queue's the highest at 50 and "
        "46), idle p99 3–10 ms on every queue in every round, payment → e-mail p95 0.27 and 0.29 s; on 6333cac, speed "
        "probe 12.9 ms: 9.04 and 7.68 (the half load's p99 39.1 and 36.2 ms, rounds up to 67), idle p99 3–7 ms on "
        "every queue in every round, payment → e-mail p95 0.33 and 0.23 s. What would close it: cores of the workers' "
        "own. On fb9b4ee: 3.84 and 3.41, the nearest yet (rounds 2.99–6.38 and 2.82–10.25; the half load 1,992 and "
        "1,798 searches a second on a machine a tenth slower, its p99 20.8 and 30.3 ms, the e-mails queue's the "
        "highest at 28 and 68), idle p99 4–11 ms on every queue in every round, payment → e-mail p95 0.27 and 0.60 s. "
        "Tried since: Celery's thread pool for the three workers (one process each, its tasks in threads: the task "
        "handed over within the process, not to a child), partial runs alternating 4.16, 4.43, 4.84 against the "
        "prefork pool's 8.12, 4.39, 3.25, the e-mails queue's idle p99 12–15 ms against 6–10: dropped. On 48a7ab5, a "
        "machine a third slower (speed probe 19.1–22.1 ms): 5.53 and 9.27 (rounds 3.38–10.27 and 3.84–12.41; the half "
        "load 1,472 and 1,453 searches a second, its p99 44.2 and 77.8 ms, the highest queue the bookings' at 63 then "
        "the e-mails' at 116), idle p99 4–15 ms on every queue in every round, payment → e-mail p95 0.56 and 0.60 s; "
        "the cache's Redis stopped 21 ms once, in the rate limits' script. On b5eb4b2: 6.38 and 5.95, every queue's "
        "idle p99 6–15 ms in every round, payment → e-mail p95 0.43 and 1.09 s. On b8ae757 (Intel, speed probe "
        "16.2–18.4 ms): 4.50 and 7.09 (the half load 1,565 and 1,421 searches a second, the e-mails queue's p99 the "
        "highest at 73 and 115 ms), idle p99 5–13 ms on every queue in every round, payment → e-mail p95 0.39 and 0.52 "
        "s; the cache's Redis stopped 39 and 51 ms once each. On 72903e9: 9.16 and 4.89 (−47 %; the half load 1,597 "
        "and 1,388 searches a second, the e-mails queue's p99 97 then 45 ms, payments 50 and 53, bookings 56 and 36), "
        "idle p99 7–17 ms on every queue in every round, payment → e-mail p95 0.73 and 0.54 s. On 8bc772c: 8.39 and "
        "6.89 (−18 %; the half load 1,446 and 1,505 searches a second, the e-mails queue's p99 the highest at 112 and "
        "82 ms, payments 63 and 51, bookings 35 and 26), idle p99 5–11 ms on every queue in every round, payment → "
        "e-mail p95 0.63 and 0.54 s (0.11 s idle). On 5cdfd14 (AMD, speed probe 24.7–31.8 ms): 8.78 and 5.96 (rounds "
        "0.16–19.6 and 3.91–18.45; the half load 1,522 and 1,273 searches a second, the e-mails queue's p99 176 and 80 "
        "ms, payments 97 and 52, bookings 67 and 128); payment → e-mail p95 1.11 and 0.67 s (0.14–0.16 idle). In the "
        "first run one idle round (17:52:40) had every queue's p99 at 121–254 ms (7–15 in the others), so the bookings "
        "queue's idle p99 over all rounds read 86.9 ms: the fourth such round seen, all three queues at once, the "
        "broker not stalling and the cache's Redis 34 ms at worst nine seconds before it; in the second every idle p99 "
        "6–13 ms. A probe's wait counts from before the bench sends it; its sending took p99 24–35 ms at half load "
        "against 5–6 idle in partial runs, and counted from the sending's end the figure read 7.54 against 6.85 as "
        "defined: the bench's sending lowers the ratio rather than raising it. On 108754b (speed probe 33.3 and 38.3 "
        "ms at the figure's medians): 6.80 and 4.24, each idle p99 8–17 ms a round on every queue (no outlier round), "
        "the payment → e-mail p95 1.23 and 1.39 s. The sending's p99 35.8 and 36.2 ms at half load against 6.5 and 6.3 "
        "idle; counted from its end the figure read 5.92 and 4.81. Each idle round's slowest probe took 11–19 ms, "
        "while the kernel counted some task waiting for a core 0.6–1.0 s of the round's 5 s: on this machine even an "
        "idle round's cores are contended (the host's proactive reclaim, kdamond, 2.0–2.3 s of CPU over the figure). "
        "The pair on ba7834d: 8.39 and 7.04, every queue's idle p99 met (6–17 ms a round), the payment → e-mail p95 "
        "1.08 and 1.02 s; counted from the sending's end 9.30 and 6.37. The pair on aca6095 (speed probe 24.4 and 19.5 "
        "ms at the figure's medians): 6.85 and 5.77, every queue's idle p99 met (6–17 ms a round), the payment → "
        "e-mail p95 0.42 and 0.72 s; counted from the sending's end 8.36 and 6.94. In the second run Redis's latency "
        "monitor saw the broker stall 100 ms on one command (PUBLISH of Celery's task events) during the figure: a "
        "command of microseconds, so Redis's own process was most likely kept from a core that long (the host took 1.6 "
        "s of the guest's CPU over the figure). The pair on ba8b6dc (speed probe 20.6 and 20.7 ms at the figure's "
        "medians): 6.07 (rounds 2.09–12.24) and 7.11 (3.47–21.36), every queue's idle p99 met (5–14 ms a round), the "
        "payment → e-mail p95 0.74 and 0.69 s; at half load (1,493 and 1,226 searches a second) emails 115 and 172 ms, "
        "payments 55 and 43, bookings 61 and 30; counted from the sending's end 7.64 and 8.61; neither Redis stalled "
        "over 20 ms. The pair on 87b552b (speed probe 23.6 and 19.0 ms): 7.52 (rounds 4.52–12.43) and 4.34 "
        "(2.37–7.86), every queue's idle p99 met (5–13 ms a round), the payment → e-mail p95 0.88 and 0.41 s; at half "
        "load (1,544 and 1,255 searches a second) emails 102 and 46 ms, payments 88 and 29, bookings 61 and 27; "
        "counted from the sending's end 8.58 and 5.55; neither Redis stalled over 20 ms."
    ),
    9: (
        "Most of a lifecycle's CPU is the e-mails worker making a booking's two PDFs once each (the invoice with the "
        "receipt, the e-tickets with the confirmation), kept for every later e-mail, resend and download: fonts read "
        "once a process and cut to the glyphs used (a Latin cut of 570 glyphs for documents in Latin letters, no "
        "TrueType hinting), text shaped only where a script needs it, QR codes drawn once. b26a980 is measured beside "
        "the current code in the same run (bench/baseline.py), so the ratio does not move with the machine's speed as "
        "it would against a constant. In the pair on e850263: the e-mails worker 62 ms a lifecycle, the web tier "
        "26–28, PostgreSQL 26–32. Met in every run from 43c3c38 to e850263 (0.37–0.49), single rounds up to 0.54; 0.52 "
        "and 0.49 in the pair on 183677b (speed probe 16–18 ms), 0.47 and 0.45 on 47a32ec (13.2–13.4 ms), 0.41 and "
        "0.38 on 6333cac (12.9 ms), 0.44 and 0.42 on fb9b4ee (13 ms), 0.43 and 0.48 on 48a7ab5 (19.0–20.5 ms), where "
        "partial runs alternating psycopg2 and 183677b read 0.45 and 0.44 against 0.47 and 0.46 (207–241 ms a "
        "lifecycle against 205–229): the machine's spread, the prepared statements saving nothing visible in a "
        "lifecycle whose statements mostly run once or twice on a connection. What is left in the e-mails worker: "
        "fontTools cutting each document's fonts (a quarter of its CPU), fpdf2's line breaking (a fifth), its queries "
        "(a fifth). The pair on b8ae757, on an Intel machine (speed probe 16.2–18.4 ms; the pairs before ran on AMD): "
        "0.53 and 0.52, missed. The current code's lifecycle cost less than on the machine before (268 and 281 ms "
        "against 294), but b26a980's cost less still: its e-mails worker 304 and 338 ms a lifecycle against 442 (its "
        "PDFs, made with the fonts whole and every text shaped, cost a quarter less on this processor), its web tier "
        "78 and 88 ms against 96. The ratio of two codes side by side moves with the processor where the two spend "
        "their CPU differently. The pair on 72903e9 (no change to the lifecycle), the same machine: 0.50 and 0.49, met "
        "(271 and 261 ms against 545 and 537). 8bc772c made starting a payment read the booking's row alone (the web's "
        "queries for it 16 → 10) and read the operators' availability answers as soon as they are written (Celery's "
        "own wait read the result store every half second): the web tier 58 → 40 ms a lifecycle, a lifecycle's wall "
        "time 704 → 191–196 ms (p50). The pair on it, the same machine (speed probe 15.8–18.0 ms): 0.46 and 0.43 (231 "
        "and 215 ms against 504 and 494), met. Met in 18 of the last 20 runs (0.38–0.50; 0.52 and 0.53 in the two "
        "others). What is left in the e-mails worker (85–91 ms a lifecycle; a profile of the bench's own worker): "
        "fpdf2 writing the fonts, 27 % of its samples — fontTools cutting each document's two fonts to its glyphs, and "
        "the glyph map fpdf2 builds for each font (a 128 kB table made one character at a time, then compressed: 6 % "
        "on its own)."
    ),
    10: (
        "The calendar's answer is kept whole as sent, as a search's is, and since b8ae757 sent as early (figure 1: a "
        "partial run 67.9× against 53.6× for its parent measured right after it); a cached month serves about what a "
        "cached search serves (figure 2's A). The computed month is PostgreSQL's and Python's work (35–69 requests/s "
        "by the machine), and the ratio follows its speed more than anything the cache does: a cheaper computed month "
        "lowers it. Met in the last 44 runs (53.2–84.5×; 63.6× and 65.0× in the pair on b8ae757, 68.8× and 65.6× on "
        "72903e9, 66.4× and 64.4× on 8bc772c); 45.0–49.8× in the four before, on a machine where the computed month "
        "was faster. On 108754b, an AMD machine slower again (speed probe 36.1 and 37.6 ms): 69.0× and 55.7× (the "
        "computed month at 19 and 25 requests/s). On ba7834d: 83.9× and 68.2×. On aca6095 (speed probe 24.9 and 19.5 "
        "ms): 74.7× and 80.5× (the computed month at 28 and 36 requests/s). On ba8b6dc (speed probe 19.3 and 19.8 ms): "
        "73.0× and 81.3× (the computed month at 39 and 36 requests/s). On 87b552b (speed probe 19.1 and 18.8 ms): "
        "84.5× and 77.4× (the computed month at 33 and 42 requests/s)."
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
    parser.add_argument(
        "--profile-all",
        action="store_true",
        help="profile every figure measured, its target met or not (by default only the targets missed)",
    )
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
    if 8 in only:  # its load is half of figure 1's peak; without figure 1 it would be the floor of 20 searches/s
        only.add(1)
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
            profile_all=args.profile_all,
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
