"""The officials' workflow, channel-agnostic: registration, commands, ticket actions, paper intake,
invites, announcements. May import: bot.intake, bot.conversation, bot.tickets, bot.core, bot.config, storage.
"""
