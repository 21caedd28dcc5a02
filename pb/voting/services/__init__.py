"""Writes for voting on every channel, one module each: voter codes and receipts (``codes``),
checking a ballot (``checking``), casting online and at a kiosk (``casting``, ``kiosk``), paper
ballots (``paper``) and the decision day (``decision_day``)."""
