"""The web back office's rules, channel-agnostic: the queue and its filters, the ticket page, actions
taken from a browser (through bot.officials.actions and bot.core.policy, exactly like the chat card),
the leaders' dashboard and the documents to download. Its own package because it composes officials,
jobs and documents into pages; handlers/web/backoffice only turns these into HTTP.
May import: bot.officials, bot.tickets, bot.jobs, bot.documents, bot.intake, bot.core, bot.config,
bot.language, storage.
"""
