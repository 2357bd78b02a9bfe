"""Buyer notifications: Persian SMS to the buyer on a parcel's milestones, and the self-service page of a
failed delivery.

``notify.provider`` speaks to the SMS provider (Kavenegar's HTTP API; ``notify.fake_kavenegar`` is a local
server that speaks it too), ``notify.sender`` turns outbox events into messages (consumer group ``sms``) and sends
them, ``notify.selfservice`` serves the buyer's page behind a signed link, ``notify.web`` mounts it all.
docs/notifications.md.
"""
