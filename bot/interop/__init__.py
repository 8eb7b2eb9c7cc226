"""Open interfaces for other systems: Open311 GeoReport v2, public statistics, API keys.
May import: bot.service, bot.documents, bot.intake, bot.tickets, bot.core, bot.config, storage. Never handlers.
"""
