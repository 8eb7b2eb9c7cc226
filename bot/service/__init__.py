"""The service that owns transactions: one inbound event, one transaction; group commit; flood guard.
May import: bot.officials, bot.intake, bot.conversation, bot.tickets, bot.core, bot.config, bot.language, storage.
"""
