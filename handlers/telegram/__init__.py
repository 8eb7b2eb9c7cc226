"""The Telegram edge: webhook and polling, translation of PTB updates into the core's Inbound type.
May import: bot (core types and the service), storage only through bot. No business rules, no SQL.
"""
