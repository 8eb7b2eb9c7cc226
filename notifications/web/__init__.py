"""The web chat's side of the outbox: the browser pulls its rows. May import: bot.core, storage.
"""
