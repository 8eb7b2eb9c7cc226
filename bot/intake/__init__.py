"""The citizen's side: the intake flow, lookup, data rights, announcements opt-in, relay, survey answers.
May import: bot.conversation, bot.tickets, bot.core, bot.config, bot.language, storage.
"""
