"""Failed deliveries and returns: failed-attempt (NDR) cases the shop acts on, and the way home to the sender.

``returns.cases`` keeps the cases (a consumer of the partition outboxes opens them), ``returns.web`` serves
``/v1/ndr``, ``returns.planning`` tells the router which parcels a case keeps off a plan. docs/ndr.md.
"""
