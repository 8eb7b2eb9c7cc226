"""The conversation engine: one state machine for every channel (turns, prompts, buttons, stale buttons).
May import: bot.core, bot.config, bot.language, bot.tickets, storage.
"""
