"""Core rules shared by every feature: domain types, the ticket lifecycle and its state sets, deadlines,
workdays, routing, the one policy function, PINs, the injected clock and template rendering.
May import: bot.config, bot.language, storage. Never telegram, aiohttp, apscheduler, handlers or notifications.
"""
