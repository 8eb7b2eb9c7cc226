"""The Zalo OA client, token refresher, consultation window and sender.
May import: notifications.outbox, bot.core, bot.config, storage.
"""
