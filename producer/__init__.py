"""The order-event producer: the design's feed, the teaching modes and recorded scenarios.

What the notebooks import::

    from producer import OrderFeed, produce_events, replay_scenario, load_scenario

Modules, from the bottom up: ``timefmt`` (event times), ``catalogue`` (``data/products.csv``),
``feed`` (the generated events), ``malformed`` and ``modes`` (the teaching modes), ``contract``
(the event contract in plain Python), ``scenarios`` (recorded files), ``publish`` (Kafka), and
``order_producer`` (the command line). From ``labsupport`` they use only ``config``, ``schema``
and ``errors``.
"""

from producer.catalogue import Product, load_catalogue
from producer.contract import contract_violations, is_valid_event
from producer.feed import OrderFeed, encode_event, event_key
from producer.malformed import MALFORMED_KINDS, malformed_record
from producer.publish import ProduceStats, produce_events, produce_in_background, replay_scenario
from producer.scenarios import (
    EXPECTATIONS,
    Scenario,
    ScenarioRecord,
    list_scenarios,
    load_scenario,
)

__all__ = [
    "EXPECTATIONS",
    "MALFORMED_KINDS",
    "OrderFeed",
    "ProduceStats",
    "Product",
    "Scenario",
    "ScenarioRecord",
    "contract_violations",
    "encode_event",
    "event_key",
    "is_valid_event",
    "list_scenarios",
    "load_catalogue",
    "load_scenario",
    "malformed_record",
    "produce_events",
    "produce_in_background",
    "replay_scenario",
]
