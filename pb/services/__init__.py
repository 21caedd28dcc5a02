"""Writes for rounds, proposals, reviews, priorities and the budget split, one module each.

Every function checks the phase table (``pb.phases``) and the permission predicates
(``pb.rules``) itself, so no view, API call or consumer can bypass them. Staff actions leave an
audit entry (``pb.services.audit``); notifications go out after the change commits.
"""
