"""The load test's request bodies are valid bookings that route where they were drawn for, in every province."""

from __future__ import annotations

import random

from booking.validation import RequestValidator
from gateway.demo import DEMO_SENDER
from kernel.postal.offices import load_registry
from kernel.postal.tariff import Limits
from loadtests import bodies


def test_every_office_gets_valid_receivers_that_route_to_it():
    registry, rng = load_registry(), random.Random(7)
    validator = RequestValidator(Limits.load())
    for office in registry.delivery_offices():
        for i in range(20):
            body = bodies.shipment(rng, registry, f"L-{i}")
            body["receiver"] = bodies.party(rng, registry, office.code)
            req, errs = validator.shipment(body, DEMO_SENDER)
            assert not errs, (office.code, body["receiver"], [e.to_dict() for e in errs.items])
            assert registry.delivering_office(req.receiver["postal_code"]).code == office.code
