"""The Zalo OA edge: the signed webhook and translation of Zalo events into Inbound.
May import: bot (core types and the service). No business rules, no SQL.
"""
