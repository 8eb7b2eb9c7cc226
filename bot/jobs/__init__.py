"""Every scheduled job (reminders, escalation, weekly plan, digest, reception brief, hot spots, report
reminders, housekeeping, classifier retraining) and their registry. May import: bot.documents, bot.language, bot.officials, bot.intake, bot.tickets,
bot.core, bot.config, storage. Never handlers, notifications or apscheduler.
"""
