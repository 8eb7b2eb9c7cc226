"""Statistics and the documents built from them: the DOCX report, the XLSX register and weekly plan.
May import: bot.tickets, bot.core, bot.config, storage.
"""
