"""Settings of the benchmark and fault-suite stacks: the product's settings, plus a
bare reference view on its own URL (bench/urls.py) so the product's URLs stay clean,
and shorter sweeper deadlines so the fault suite finishes in minutes."""
from portal.settings import *  # noqa: F401,F403
from portal.settings import env

ROOT_URLCONF = "bench.urls"
# The sweeper re-queues events a lost task left behind after this long (product
# default 120 s; the fault suite loses tasks on purpose and has minutes, not hours).
SYNC_SWEEP_AFTER_SECONDS = env.float("SYNC_SWEEP_AFTER_SECONDS", default=120.0)
# A failed webhook subscription is tried again after this long (product default 600 s).
SYNC_WEBHOOK_RETRY_SECONDS = env.float("SYNC_WEBHOOK_RETRY_SECONDS", default=600.0)
