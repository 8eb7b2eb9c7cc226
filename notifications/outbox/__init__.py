"""The outbox sender: drains committed rows with per-chat order, rate limits, retries and a journal.
May import: bot.core, bot.config, storage; channel senders only through the ChannelSender interface.
"""
