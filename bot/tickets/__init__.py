"""Tickets as records: creation through the core, cards, opaque action tokens, notices to citizens and
recipient resolution for offices. May import: bot.core, bot.config, bot.language, storage.
"""
