"""The search cache: ferry searches for 5 minutes, sailing availability for 1 minute, the API's answers (searches and
fare calendars) whole.

`cache_service` keeps the brief's interface (`get_ferry_search`, `set_ferry_search`,
`clear_all_ferry_searches`, availability get/set). The cache is for display only: holds and sales
are decided in the database under a lock, never from here.

How it is kept honest:
- keys come from the normalised query (`LegQuery`), so parameter order, case and spelled-out
  defaults all land on the same entry (keys.py);
- every entry's key names the searches it is made of (a leg's search its route and day; a fare calendar its route and
  days; a whole answer its legs' routes and days, and so the days around them its nearby dates come from), so
  clearing a route's or a day's searches finds all that was made of them by reading the keys (in Redis, SCAN, never
  `KEYS`), counts exactly what it removed, and nothing is written beside an entry for it: a miss keeps its entries,
  the sets of the answers listing each sailing, and its counts, no more;
- a burst of identical misses computes once: the first takes the search's lock (redis-py's `Lock`, taken in the
  lookup's own round trip), the others wait for its result, or for the lock to come free when it stored none;
- a miss keeps what it made (the leg searches, their availability, the whole answer) and gives its lock back in
  one command as it ends (`writes_together`: a script sent by its digest; the entries' JSON made by orjson), without
  waiting for Redis's answer, read once the response has gone (`settle`). Its
  legs are looked up (and their locks taken) by the script that finds the whole answer missing, in the rate limits'
  round trip: two round trips in all (three for a day with nothing to book: the days around it are looked up, and
  locked, together); the locks of legs it never searched (the request refused, say) are given back as it ends.
  Before waiting for another's search it sends what it holds back, so two misses each waiting for what the other
  made do not wait out the lock's timeout;
- hits and misses are counted in Redis, so the hit rate covers every process; the whole answers asked are ranked
  there too, and the most asked made again before they expire (ferries/warming.py);
- the API's answer to a whole query (both legs, availability laid over) is also kept as the bytes sent, so a
  repeated search costs no JSON work, and no round trip of its own: it is looked up with the request's rate limits
  (kernel.throttling's `ride_along`). Each web process also keeps copies of the answers it sent, dropped as soon as
  Redis tells it their entries changed (first_level.py): a hit from a copy costs no round trip at all. The answer
  contains availability, so it is kept no longer than any part it was made of (the legs, the availability, the
  first sailing's close of sales) and is dropped with the availability of any sailing it lists, and with the
  searches of its routes and dates; a day with nothing to book offers nearby dates, and the answer is made of their
  searches too, so they count as its parts. It names its price lines in the request's language, so it is kept once
  per language;
- when Redis fails, calls return "miss" at once for a few seconds instead of waiting on every
  request (kernel/outage.py's breaker, shared with the rate limits), and the failure is logged — search goes
  on without the cache.

Storage is written once against Django's cache API (stores.py: local memory for `make run`, no Redis); with
django-redis, redis_store.py does the same operations in fewer round trips.
"""

from ferries.cache.keys import AVAILABILITY_TTL, PARTIAL_SEARCH_TTL, SEARCH_TTL
from ferries.cache.service import cache_service

__all__ = ["AVAILABILITY_TTL", "PARTIAL_SEARCH_TTL", "SEARCH_TTL", "cache_service"]
