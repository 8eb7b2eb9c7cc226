"""Renders a Reply for Telegram and sends it. May import: notifications.outbox, bot.core, bot.config.
"""
