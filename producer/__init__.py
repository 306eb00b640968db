"""The order-event producer: the design feed plus teaching modes (see order_producer)."""
