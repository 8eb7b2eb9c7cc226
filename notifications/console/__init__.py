"""Prints replies for the terminal chat. May import: notifications.outbox, bot.core.
"""
