"""The order-event producer: the design's feed, the teaching modes and recorded scenarios.

What the notebooks import (this package is the one public surface; every name below has its
home in one module, and only this file repeats it)::

    from producer import OrderFeed, produce_events, replay_scenario, load_scenario

Modules, from the bottom up: ``timefmt`` (event times), ``catalogue`` (``data/products.csv``),
``feed`` (the generated events), ``malformed`` and ``modes`` (the teaching modes), ``contract``
(the event contract in plain Python), ``scenarios`` (recorded files); then the sending side:
``connect`` (the Kafka client), ``stats`` (the counts and the progress line), ``pacing`` (the
rate schedule, without Kafka), ``stopping`` (Ctrl-C and the final flush), ``publish`` (the feed
and given events to Kafka), ``replay`` (a scenario to Kafka); and ``order_producer`` (the command
line). From ``labsupport`` they use only ``config``, ``schema``, ``errors``, ``contract`` and
``durations`` (and ``interpreter``, to refuse a Python without its packages in one line).
"""

import sys

# Run as `python -m producer.order_producer`: sys.argv[0] is "-m" while Python imports this
# package to find the module (documented for -m), so only the command line is refused here.
if sys.argv[:1] == ["-m"]:
    from labsupport.interpreter import PRODUCER_PACKAGES, exit_unless_ready

    exit_unless_ready("producer.order_producer", PRODUCER_PACKAGES)

from producer.catalogue import Product, load_catalogue
from producer.contract import contract_violations, is_valid_event
from producer.feed import OrderFeed, encode_event, event_key, feed_events
from producer.malformed import MALFORMED_KINDS, malformed_record
from producer.publish import produce_events, produce_in_background, send_events
from producer.replay import replay_scenario
from producer.scenarios import (
    Scenario,
    ScenarioRecord,
    list_scenarios,
    load_scenario,
)
from producer.stats import ProduceStats

__all__ = [
    "MALFORMED_KINDS",
    "OrderFeed",
    "ProduceStats",
    "Product",
    "Scenario",
    "ScenarioRecord",
    "contract_violations",
    "encode_event",
    "event_key",
    "feed_events",
    "is_valid_event",
    "list_scenarios",
    "load_catalogue",
    "load_scenario",
    "malformed_record",
    "produce_events",
    "produce_in_background",
    "replay_scenario",
    "send_events",
]
